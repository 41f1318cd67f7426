/**
 * How long a heartbeat the app sent just before it stopped can still be on its
 * way to a peer. A server forwards what it takes to its peers in batches of up
 * to 500 ms (eureka-facts §5); a replicated heartbeat that reaches a peer after
 * that peer lost the instance gets 404, and the sender then registers the
 * instance there again from its own copy. Owner mode waits this long after its
 * last heartbeat before it cancels (owner-mode.ts); the clean-up waits it after
 * each pass before it trusts an absence (clean-up.ts).
 */
export const REPLICATION_SETTLE_MS = 1_000;
