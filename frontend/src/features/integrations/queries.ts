// Server state for integrations: one query key per thing, mutations that refresh it.
import { useEffect } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import type { Integration } from "../../api/types";
import { useToast } from "../../components/Toasts";
import { oauthFailureSentence } from "../../copy";

export const keys = {
  integrations: (orgId: string) => ["integrations", orgId] as const,
  integration: (orgId: string, provider: string) => ["integrations", orgId, provider] as const,
  events: (orgId: string, provider: string) => ["events", orgId, provider] as const,
};

export function useIntegrations(orgId: string) {
  return useQuery({
    queryKey: keys.integrations(orgId),
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/integrations", { params: { path: { org_id: orgId } } })),
    select: (list) => list.data as Integration[],
  });
}

export function useIntegration(orgId: string, provider: string) {
  return useQuery({
    queryKey: keys.integration(orgId, provider),
    queryFn: () =>
      unwrap(api.GET("/api/v1/orgs/{org_id}/integrations/{provider}", { params: { path: { org_id: orgId, provider } } })),
  });
}

export function useProviders() {
  return useQuery({
    queryKey: ["providers"],
    queryFn: () => unwrap(api.GET("/api/v1/providers")),
    select: (list) => list.data,
    staleTime: 5 * 60_000,
  });
}

/** After any change, every view of integrations (and the wizard's checks) reloads. */
function useInvalidate(orgId: string) {
  const queryClient = useQueryClient();
  return (provider: string) =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ["integrations", orgId] }),
      queryClient.invalidateQueries({ queryKey: keys.events(orgId, provider) }),
      queryClient.invalidateQueries({ queryKey: ["onboarding", orgId] }),
      queryClient.invalidateQueries({ queryKey: ["feature-flags", orgId] }),
    ]);
}

export interface PatchInput {
  provider: string;
  credentials?: Record<string, string>;
  config?: Record<string, string>;
  enabled?: boolean;
}

export function usePatchIntegration(orgId: string) {
  const invalidate = useInvalidate(orgId);
  return useMutation({
    mutationFn: ({ provider, ...body }: PatchInput) =>
      unwrap(
        api.PATCH("/api/v1/orgs/{org_id}/integrations/{provider}", {
          params: { path: { org_id: orgId, provider } },
          body,
        }),
      ),
    onSettled: (_d, _e, input) => invalidate(input.provider),
  });
}

export function useTestIntegration(orgId: string) {
  const invalidate = useInvalidate(orgId);
  return useMutation({
    mutationFn: (provider: string) =>
      unwrap(
        api.POST("/api/v1/orgs/{org_id}/integrations/{provider}/test", {
          params: { path: { org_id: orgId, provider } },
        }),
      ),
    onSettled: (_d, _e, provider) => invalidate(provider),
  });
}

/** "Sync now": renews the token if it is due, checks the connection, records a sync. */
export function useSyncIntegration(orgId: string) {
  const invalidate = useInvalidate(orgId);
  return useMutation({
    mutationFn: (provider: string) =>
      unwrap(
        api.POST("/api/v1/orgs/{org_id}/integrations/{provider}/sync", {
          params: { path: { org_id: orgId, provider } },
        }),
      ),
    onSettled: (_d, _e, provider) => invalidate(provider),
  });
}

export function useDisconnect(orgId: string) {
  const invalidate = useInvalidate(orgId);
  return useMutation({
    mutationFn: (provider: string) =>
      unwrap(
        api.POST("/api/v1/orgs/{org_id}/integrations/{provider}/disconnect", {
          params: { path: { org_id: orgId, provider } },
        }),
      ),
    onSettled: (_d, _e, provider) => invalidate(provider),
  });
}

/** Starts OAuth and leaves for the consent page in this same tab (never a pop-up). */
export function useStartOAuth(orgId: string) {
  return useMutation({
    mutationFn: async (input: { provider: string; config?: Record<string, string>; returnTo?: string }) => {
      const started = await unwrap(
        api.POST("/api/v1/orgs/{org_id}/integrations/{provider}/oauth/start", {
          params: { path: { org_id: orgId, provider: input.provider } },
          body: { config: input.config ?? null, return_to: input.returnTo ?? null },
        }),
      );
      window.location.assign(started.authorization_url);
      // The page is leaving; keep the button's spinner until it does.
      await new Promise(() => {});
    },
  });
}

export interface CallbackResult {
  provider: string;
  ok: boolean;
  code: string | null;
}

/** Reads the OAuth callback's `?integration=…&result=…&code=…`, toasts it once (when the
 * providers' names are known; `undefined` waits for them), and clears it. */
export function useOAuthLanding(names: Record<string, string> | undefined): CallbackResult | null {
  const [params, setParams] = useSearchParams();
  const toast = useToast();
  const provider = params.get("integration");
  const result = params.get("result");
  const code = params.get("code");
  useEffect(() => {
    if (!provider || !result || !names) return;
    const name = names[provider] ?? provider;
    if (result === "connected") toast(`${name} is connected.`, "success");
    else toast(`${name} did not connect.`, "error", oauthFailureSentence(code));
    const next = new URLSearchParams(params);
    ["integration", "result", "code"].forEach((k) => next.delete(k));
    setParams(next, { replace: true });
    // Toast once per landing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [provider, result, code, names === undefined]);
  return provider && result ? { provider, ok: result === "connected", code } : null;
}
