// Server state for integrations. Every query is written here once, under the keys below; a change
// the server answers with the whole connection is written into the cache, not fetched again.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { api, ApiProblem, unwrap } from "../../api/client";
import type { Integration, IntegrationStatus } from "../../api/types";
import { keys as settingsKeys } from "../settings/queries";

export const keys = {
  /** The list; also the prefix of every single integration's key. */
  integrations: (orgId: string) => ["integrations", orgId] as const,
  integration: (orgId: string, provider: string) => ["integrations", orgId, provider] as const,
  events: (orgId: string, provider: string) => ["events", orgId, provider] as const,
  resources: (orgId: string, provider: string, kind: string, q: string, parent: string) =>
    ["resources", orgId, provider, kind, q, parent] as const,
  providers: () => ["providers"] as const,
};

const EVENTS_PAGE = 20;

type IntegrationList = { data: Integration[] };

const path = (orgId: string, provider: string) => ({ params: { path: { org_id: orgId, provider } } });

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
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/integrations/{provider}", path(orgId, provider))),
  });
}

export function useProviders() {
  return useQuery({
    queryKey: keys.providers(),
    queryFn: () => unwrap(api.GET("/api/v1/providers")),
    select: (list) => list.data,
    staleTime: 5 * 60_000,
  });
}

/** What a connection can be pointed at (its ad accounts, channels…), a page at a time, listed live. */
/** One kind's listing; `parent` is the choice it is listed under (a pixel's ad account), so
 * another parent lists anew. */
export function useResources(orgId: string, provider: string, kind: string, q: string, parent: string, enabled: boolean) {
  return useInfiniteQuery({
    queryKey: keys.resources(orgId, provider, kind, q, parent),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/integrations/{provider}/resources/{kind}", {
          params: { path: { org_id: orgId, provider, kind }, query: { cursor: pageParam, q: q || undefined } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled,
  });
}

/** One connection's history, newest first, a page at a time. */
export function useIntegrationEvents(orgId: string, provider: string) {
  return useInfiniteQuery({
    queryKey: keys.events(orgId, provider),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/integrations/{provider}/events", {
          params: { path: { org_id: orgId, provider }, query: { limit: EVENTS_PAGE, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

function cachedStatus(queryClient: QueryClient, orgId: string, provider: string): IntegrationStatus | undefined {
  return (
    queryClient.getQueryData<Integration>(keys.integration(orgId, provider))?.status ??
    queryClient.getQueryData<IntegrationList>(keys.integrations(orgId))?.data.find((i) => i.provider === provider)?.status
  );
}

/** Puts the server's answer for one connection where every view reads it: its own query, and its
 * row in the list, in place. */
export function writeIntegration(queryClient: QueryClient, orgId: string, answer: Integration) {
  queryClient.setQueryData(keys.integration(orgId, answer.provider), answer);
  queryClient.setQueryData<IntegrationList>(
    keys.integrations(orgId),
    (list) => list && { ...list, data: list.data.map((i) => (i.provider === answer.provider ? answer : i)) },
  );
}

/** What a change did that its answer does not carry: the history it added and, when the status
 * moved, the feature flags that follow the connection. */
function refreshAround(queryClient: QueryClient, orgId: string, provider: string, statusMoved: boolean) {
  queryClient.invalidateQueries({ queryKey: keys.events(orgId, provider) });
  if (statusMoved) queryClient.invalidateQueries({ queryKey: settingsKeys.flags(orgId) });
}

/** For the changes the server answers with the whole connection (PATCH, sync, disconnect). */
function useWriteAnswer(orgId: string) {
  const queryClient = useQueryClient();
  return (answer: Integration) => {
    const before = cachedStatus(queryClient, orgId, answer.provider);
    writeIntegration(queryClient, orgId, answer);
    refreshAround(queryClient, orgId, answer.provider, before !== answer.status);
  };
}

/** Reads one connection and the list again. */
function refetchConnection(queryClient: QueryClient, orgId: string, provider: string) {
  queryClient.invalidateQueries({ queryKey: keys.integration(orgId, provider) });
  queryClient.invalidateQueries({ queryKey: keys.integrations(orgId), exact: true });
}

/** A change refused as a conflict lost a race with another writer: what is shown is stale. */
function useRefreshOnConflict(orgId: string) {
  const queryClient = useQueryClient();
  return (error: unknown, provider: string) => {
    if (error instanceof ApiProblem && error.status === 409) refetchConnection(queryClient, orgId, provider);
  };
}

export interface PatchInput {
  provider: string;
  credentials?: Record<string, string>;
  /** `null` removes a setting (the pixel chosen under an ad account that is changing). */
  config?: Record<string, string | null>;
  enabled?: boolean;
}

export function usePatchIntegration(orgId: string) {
  const write = useWriteAnswer(orgId);
  const onConflict = useRefreshOnConflict(orgId);
  return useMutation({
    mutationFn: ({ provider, ...body }: PatchInput) =>
      unwrap(api.PATCH("/api/v1/orgs/{org_id}/integrations/{provider}", { ...path(orgId, provider), body })),
    onSuccess: write,
    onError: (error, input) => onConflict(error, input.provider),
  });
}

/** "Sync now": renews the token if it is due, checks the connection, records a sync. */
export function useSyncIntegration(orgId: string) {
  const write = useWriteAnswer(orgId);
  const onConflict = useRefreshOnConflict(orgId);
  return useMutation({
    mutationFn: (provider: string) => unwrap(api.POST("/api/v1/orgs/{org_id}/integrations/{provider}/sync", path(orgId, provider))),
    onSuccess: write,
    onError: onConflict,
  });
}

export function useDisconnect(orgId: string) {
  const write = useWriteAnswer(orgId);
  const onConflict = useRefreshOnConflict(orgId);
  return useMutation({
    mutationFn: (provider: string) =>
      unwrap(api.POST("/api/v1/orgs/{org_id}/integrations/{provider}/disconnect", path(orgId, provider))),
    onSuccess: write,
    onError: onConflict,
  });
}

/** A test answers with its result only, so the connection itself is read again. */
export function useTestIntegration(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (provider: string) => unwrap(api.POST("/api/v1/orgs/{org_id}/integrations/{provider}/test", path(orgId, provider))),
    onSettled: (result, _error, provider) => {
      const before = cachedStatus(queryClient, orgId, provider);
      refetchConnection(queryClient, orgId, provider);
      refreshAround(queryClient, orgId, provider, result === undefined || result.status !== before);
    },
  });
}

/** Starts OAuth and leaves for the consent page in this same tab (never a pop-up). */
export function useStartOAuth(orgId: string) {
  return useMutation({
    mutationFn: async (input: { provider: string; config?: Record<string, string>; returnTo?: string }) => {
      const started = await unwrap(
        api.POST("/api/v1/orgs/{org_id}/integrations/{provider}/oauth/start", {
          ...path(orgId, input.provider),
          body: { config: input.config ?? null, return_to: input.returnTo ?? null },
        }),
      );
      window.location.assign(started.authorization_url);
      // The page is leaving; keep the button's spinner until it does.
      await new Promise(() => {});
    },
  });
}
