import type { Onboarding, OnboardingStep, StepId } from "../../api/types";

/** The server's ten steps as nine screens: Shopify's connect and setup share one. */
export const SCREENS: StepId[][] = [
  ["basic_info"],
  ["connect_shopify", "shopify_setup"],
  ["domains"],
  ["payments"],
  ["integrations"],
  ["features"],
  ["import_products"],
  ["invite_users"],
  ["review_launch"],
];

export function stepOf(progress: Onboarding | undefined, id: StepId): OnboardingStep | undefined {
  return progress?.steps.find((s) => s.id === id);
}

export function screenDone(progress: Onboarding | undefined, screen: number): boolean {
  return (SCREENS[screen] ?? []).every((id) => {
    const status = stepOf(progress, id)?.status;
    return status === "completed" || status === "skipped";
  });
}

/** Where the brand left off: the first screen with a pending step (the last one when all are done). */
export function resumeScreen(progress: Onboarding | undefined): number {
  const next = SCREENS.findIndex((_, i) => !screenDone(progress, i));
  return next === -1 ? SCREENS.length - 1 : next;
}
