// Server state for platform administrators.
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";

export const keys = {
  readiness: () => ["readiness"] as const,
};

export function useReadiness(enabled: boolean) {
  return useQuery({ queryKey: keys.readiness(), queryFn: () => unwrap(api.GET("/api/v1/platform/readiness")), enabled });
}

/** A platform-level provider's live check with the platform's own variables. */
export function usePlatformCheck(provider: string) {
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/platform/readiness/{provider}/test", { params: { path: { provider } } })),
  });
}
