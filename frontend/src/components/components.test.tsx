import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { ConfirmDialog } from "./Modal";
import { StatusBadge } from "./StatusBadge";
import { FormField } from "./FormField";

describe("StatusBadge", () => {
  it("says the status in words, not only in colour", () => {
    render(<StatusBadge status="expired" />);
    expect(screen.getByText("Expired")).toHaveClass("badge-expired");
  });
  it("shows a status it does not know as it came", () => {
    render(<StatusBadge status="paused" />);
    expect(screen.getByText("paused")).toBeInTheDocument();
  });
});

describe("FormField", () => {
  it("ties its label and its error to the input", () => {
    render(<FormField label="Shop domain" error="Shop domain must look like your-store.myshopify.com." />);
    const input = screen.getByLabelText("Shop domain");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveAccessibleDescription("Shop domain must look like your-store.myshopify.com.");
  });
});

function Confirming({ onConfirm }: { onConfirm: () => void }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button onClick={() => setOpen(true)}>Disconnect</button>
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title="Disconnect Resend?"
        description="Its credentials are deleted."
        confirmLabel="Disconnect"
        onConfirm={onConfirm}
      />
    </>
  );
}

describe("ConfirmDialog", () => {
  it("asks first, keeps focus inside, and closes on Escape without acting", async () => {
    const user = userEvent.setup();
    const onConfirm = vi.fn();
    render(<Confirming onConfirm={onConfirm} />);
    await user.click(screen.getByRole("button", { name: "Disconnect" }));
    const dialog = screen.getByRole("dialog", { name: "Disconnect Resend?" });
    expect(dialog).toHaveAccessibleDescription("Its credentials are deleted.");
    expect(dialog).toContainElement(document.activeElement as HTMLElement);
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(onConfirm).not.toHaveBeenCalled();
  });

  it("acts on the confirm button", async () => {
    const user = userEvent.setup();
    const onConfirm = vi.fn();
    render(<Confirming onConfirm={onConfirm} />);
    await user.click(screen.getByRole("button", { name: "Disconnect" }));
    const dialog = screen.getByRole("dialog");
    await user.click(dialog.querySelector(".btn-danger") as HTMLElement);
    expect(onConfirm).toHaveBeenCalledOnce();
  });
});
