// Server state for the wizard: its progress, and saving one step.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { Onboarding, StepId, StepPatch } from "../../api/types";
import { keys as settingsKeys } from "../settings/queries";

export const keys = {
  onboarding: (orgId: string) => ["onboarding", orgId] as const,
};

export function useOnboarding(orgId: string) {
  return useQuery({
    queryKey: keys.onboarding(orgId),
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/onboarding", { params: { path: { org_id: orgId } } })),
  });
}

/** Saves one step; the answer is the whole progress, kept as it came. */
export function useSaveStep(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: StepId; patch: StepPatch }) =>
      unwrap(
        api.PATCH("/api/v1/orgs/{org_id}/onboarding/steps/{step}", {
          params: { path: { org_id: orgId, step: id } },
          body: patch,
        }),
      ),
    onSuccess: (answer, { id }) => {
      const progress: Onboarding = { steps: answer.steps, launched_at: answer.launched_at };
      queryClient.setQueryData(keys.onboarding(orgId), progress);
      // These two steps change what other pages list, which the answer does not carry.
      if (id === "features") queryClient.invalidateQueries({ queryKey: settingsKeys.flags(orgId) });
      if (id === "invite_users") queryClient.invalidateQueries({ queryKey: settingsKeys.invitations(orgId) });
    },
  });
}
