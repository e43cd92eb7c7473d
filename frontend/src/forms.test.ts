import { describe, expect, it } from "vitest";
import { formPath, placeProblems } from "./forms";

describe("a refused save's field errors", () => {
  it("are named in the form's terms", () => {
    expect(formPath("data.website")).toBe("website");
    expect(formPath("credentials.api_key")).toBe("api_key");
    expect(formPath("config.shop")).toBe("shop");
    expect(formPath("data.invitations[2].email")).toBe("invitations.2.email");
    expect(formPath("password")).toBe("password");
  });

  it("land on the field that holds them, joined when several do, and the rest is kept apart", () => {
    const { placed, rest } = placeProblems(
      [
        { field: "data.website", message: "Use a full address." },
        { field: "data.domains[0]", message: "`a` is not a host name." },
        { field: "data.domains[3]", message: "`b` is taken." },
        { field: "data.flags.integrations.slack", message: "Connect Slack first." },
      ],
      ["website", "domains"],
    );
    expect(Object.fromEntries(placed)).toEqual({ website: "Use a full address.", domains: "`a` is not a host name. `b` is taken." });
    expect(rest).toEqual(["Connect Slack first."]);
  });

  it("can be renamed first, as when the server counted only the rows sent", () => {
    const { placed } = placeProblems([{ field: "data.invitations[0].email", message: "Not an address." }], ["invitations.2.email"], (path) =>
      path.replace("invitations.0", "invitations.2"),
    );
    expect(Object.fromEntries(placed)).toEqual({ "invitations.2.email": "Not an address." });
  });
});
