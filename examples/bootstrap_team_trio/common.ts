/** What the nodes of bootstrap_team_trio share: the Python example's swarm name, so they mix. */
export const SWARM = "foo.electron.network";

/** The bootstrap node's default address when a node is started on its own. */
export const DEFAULT_SEED = "127.0.0.1:9999";
