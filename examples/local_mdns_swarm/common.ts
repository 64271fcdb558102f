/** What the nodes of local_mdns_swarm share: the Python example's swarm name, so they mix. */
export const SWARM = "foo.electron.network";
