// The one answer, for every view, to "is this connection live?" and "does it need attention?".
import type { Integration } from "../../api/types";

export interface ConnectionState {
  /** Connected once and not disconnected since; disabled, expired and failing ones included. */
  live: boolean;
  /** Expired or failing: someone has to reconnect it. */
  needsAttention: boolean;
}

/** The fields the API is to send on each integration; once it does, they are the answer. */
type Decided = Integration & { live: boolean; needs_attention: boolean };

function decidedByServer(integration: Integration): integration is Decided {
  return "needs_attention" in integration && "live" in integration;
}

export function connectionState(integration: Integration): ConnectionState {
  if (decidedByServer(integration)) return { live: integration.live, needsAttention: integration.needs_attention };
  // Until then, derived from the status as the server's lifecycle does (`is_live`, `needs_attention`).
  const { status } = integration;
  return { live: status !== "not_connected", needsAttention: status === "expired" || status === "error" };
}
