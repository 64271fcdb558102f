/** What the nodes of isolated_agents share: the swarm name of the Python example, so they mix. */
export const SWARM = "foo.electron.network";
