import { describe, expect, it } from "vitest";
import type { Integration, IntegrationStatus } from "../../api/types";
import { connectionState } from "./status";

const withStatus = (status: IntegrationStatus, extra: object = {}) => ({ provider: "resend", status, ...extra }) as Integration;

describe("connectionState", () => {
  it.each<[IntegrationStatus, boolean, boolean]>([
    ["not_connected", false, false],
    ["connected", true, false],
    ["disabled", true, false],
    ["expired", true, true],
    ["error", true, true],
  ])("derives %s as live %s, needs attention %s", (status, live, needsAttention) => {
    expect(connectionState(withStatus(status))).toEqual({ live, needsAttention });
  });

  it("takes the server's own answer as it is when the integration carries one", () => {
    const sent = withStatus("connected", { live: false, needs_attention: true });
    expect(connectionState(sent)).toEqual({ live: false, needsAttention: true });
  });
});
