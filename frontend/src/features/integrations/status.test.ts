import { describe, expect, it } from "vitest";
import type { Integration, IntegrationStatus } from "../../api/types";
import { connectionState } from "./status";

const withStatus = (status: IntegrationStatus, decided: { live: boolean; needs_attention: boolean }) =>
  ({ provider: "resend", status, ...decided }) as Integration;

describe("connectionState", () => {
  it.each<[IntegrationStatus, boolean, boolean]>([
    ["not_connected", false, false],
    ["connected", true, false],
    ["disabled", true, false],
    ["expired", true, true],
    ["error", true, true],
  ])("reads %s as the server sends it: live %s, needs attention %s", (status, live, needsAttention) => {
    expect(connectionState(withStatus(status, { live, needs_attention: needsAttention }))).toEqual({ live, needsAttention });
  });

  it("takes the server's own answer as it is, whatever the status", () => {
    const sent = withStatus("connected", { live: false, needs_attention: true });
    expect(connectionState(sent)).toEqual({ live: false, needsAttention: true });
  });
});
