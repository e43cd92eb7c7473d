import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiProblem } from "../../api/client";
import type { Onboarding } from "../../api/types";
import { BasicInfo } from "./screens";
import type { ScreenProps } from "./Wizard";

const progress: Onboarding = { launched_at: null, steps: [] };

function screenProps(save: ScreenProps["save"]): ScreenProps {
  return { orgId: "org-1", progress, save, next: vi.fn(), landing: null };
}

describe("the wizard's basic information", () => {
  it("names every problem at once, under its own field, before asking the server", async () => {
    const save = vi.fn();
    const user = userEvent.setup();
    render(<BasicInfo {...screenProps(save)} />);
    await user.type(screen.getByLabelText("Website"), "not a website");
    await user.clear(screen.getByLabelText("Currency"));
    await user.type(screen.getByLabelText("Currency"), "E1");
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await waitFor(() => expect(screen.getByLabelText("Brand name")).toHaveAccessibleDescription("Enter the brand's name (1 to 100 characters)."));
    expect(screen.getByLabelText("Website")).toHaveAccessibleDescription(/full address, like https:/);
    expect(screen.getByLabelText("Currency")).toHaveAccessibleDescription(/three-letter code/);
    expect(save).not.toHaveBeenCalled();
  });

  it("puts the server's data.* field errors under the fields they name", async () => {
    const refused = new ApiProblem({
      status: 422,
      detail: "2 fields need attention.",
      errors: [
        { field: "data.website", message: "Remove the user name and password from the website address." },
        { field: "data.timezone", message: "Choose a time zone by its IANA name." },
      ],
    });
    const user = userEvent.setup();
    render(<BasicInfo {...screenProps(vi.fn().mockRejectedValue(refused))} />);
    await user.type(screen.getByLabelText("Brand name"), "Acme");
    await user.type(screen.getByLabelText("Website"), "https://ann:secret@acme.example");
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await waitFor(() => expect(screen.getByLabelText("Website")).toHaveAccessibleDescription(/Remove the user name/));
    expect(screen.getByLabelText("Time zone")).toHaveAccessibleDescription("Choose a time zone by its IANA name.");
    expect(screen.getByLabelText("Website")).toHaveFocus();
  });
});
