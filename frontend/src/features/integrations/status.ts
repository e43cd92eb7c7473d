// The one answer, for every view, to "is this connection live?" and "does it need attention?":
// the server's, which its lifecycle decides.
import type { Integration } from "../../api/types";

export interface ConnectionState {
  /** Connected once and not disconnected since; disabled, expired and failing ones included. */
  live: boolean;
  /** Expired or failing: someone has to reconnect it. */
  needsAttention: boolean;
}

export function connectionState(integration: Integration): ConnectionState {
  return { live: integration.live, needsAttention: integration.needs_attention };
}
