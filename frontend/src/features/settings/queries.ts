// Server state for the settings pages: feature flags, members and invitations, API keys and
// notifications. Each query is written here once, under the keys below.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import type { ApiKeyIn, FeatureFlag, InvitationIn, Member, PrivacyRequest, RoleIn } from "../../api/types";

export const keys = {
  flags: (orgId: string) => ["feature-flags", orgId] as const,
  members: (orgId: string) => ["members", orgId] as const,
  invitations: (orgId: string) => ["invitations", orgId] as const,
  apiKeys: (orgId: string) => ["api-keys", orgId] as const,
  notificationSettings: (orgId: string) => ["notification-settings", orgId] as const,
  notifications: (orgId: string) => ["notifications", orgId] as const,
  privacyRequests: (orgId: string) => ["privacy-requests", orgId] as const,
};

const org = (orgId: string) => ({ params: { path: { org_id: orgId } } });

/** Replaces the one item the server answered with in a cached `{data: [...]}` list. */
function replaceIn<T>(list: { data: T[] } | undefined, answer: T, same: (item: T) => boolean) {
  return list && { ...list, data: list.data.map((item) => (same(item) ? answer : item)) };
}

// Feature flags

export function useFeatureFlags<T = FeatureFlag[]>(orgId: string, select?: (flags: FeatureFlag[]) => T) {
  return useQuery({
    queryKey: keys.flags(orgId),
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/feature-flags", org(orgId))),
    select: (list) => (select ? select(list.data) : (list.data as T)),
  });
}

export function useSetFlag(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ key, enabled }: { key: string; enabled: boolean }) =>
      unwrap(api.PATCH("/api/v1/orgs/{org_id}/feature-flags/{key}", { params: { path: { org_id: orgId, key } }, body: { enabled } })),
    onSuccess: (flag) => queryClient.setQueryData(keys.flags(orgId), (list: { data: FeatureFlag[] } | undefined) => replaceIn(list, flag, (f) => f.key === flag.key)),
  });
}

// Members and invitations

export function useMembers(orgId: string) {
  return useQuery({ queryKey: keys.members(orgId), queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/members", org(orgId))) });
}

export function useInvitations(orgId: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.invitations(orgId),
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/invitations", org(orgId))),
    enabled,
  });
}

export function useInvite(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: InvitationIn) => unwrap(api.POST("/api/v1/orgs/{org_id}/invitations", { ...org(orgId), body })),
    // The answer is one invitation; where it sits in the paged list is the server's to say.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.invitations(orgId) }),
  });
}

export function useRevokeInvitation(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/orgs/{org_id}/invitations/{invitation_id}", { params: { path: { org_id: orgId, invitation_id: id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.invitations(orgId) }),
  });
}

export function useChangeRole(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: RoleIn }) =>
      unwrap(api.PATCH("/api/v1/orgs/{org_id}/members/{user_id}", { params: { path: { org_id: orgId, user_id: userId } }, body: { role } })),
    onSuccess: (member) =>
      queryClient.setQueryData(keys.members(orgId), (page: { data: Member[] } | undefined) => replaceIn(page, member, (m) => m.user_id === member.user_id)),
  });
}

export function useRemoveMember(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (userId: string) =>
      unwrap(api.DELETE("/api/v1/orgs/{org_id}/members/{user_id}", { params: { path: { org_id: orgId, user_id: userId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.members(orgId) }),
  });
}

// API keys

export function useApiKeys(orgId: string) {
  return useQuery({ queryKey: keys.apiKeys(orgId), queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/api-keys", org(orgId))) });
}

export function useCreateApiKey(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ApiKeyIn) => unwrap(api.POST("/api/v1/orgs/{org_id}/api-keys", { ...org(orgId), body })),
    // The answer holds the secret, which no list keeps: the list is read again instead.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.apiKeys(orgId) }),
  });
}

export function useRevokeApiKey(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (keyId: string) =>
      unwrap(api.DELETE("/api/v1/orgs/{org_id}/api-keys/{key_id}", { params: { path: { org_id: orgId, key_id: keyId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.apiKeys(orgId) }),
  });
}

// Notifications

export function useNotificationSettings(orgId: string) {
  return useQuery({
    queryKey: keys.notificationSettings(orgId),
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/notification-settings", org(orgId))),
  });
}

export interface NotificationSettingsChange {
  webhook_url?: string | null;
  slack_webhook_url?: string | null;
  email_recipients: string[];
  slack_app_notices?: components["schemas"]["SlackAppNotice"][];
}

export function useSaveNotificationSettings(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: NotificationSettingsChange) => unwrap(api.PUT("/api/v1/orgs/{org_id}/notification-settings", { ...org(orgId), body })),
    // The answer is the settings as saved; its one-time signing secret stays out of the cache.
    onSuccess: (saved) => queryClient.setQueryData(keys.notificationSettings(orgId), { ...saved, webhook_secret: undefined }),
  });
}

export function useNotifications(orgId: string) {
  return useQuery({ queryKey: keys.notifications(orgId), queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/notifications", org(orgId))) });
}

export function useSendTestNotification(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/orgs/{org_id}/notification-settings/test", org(orgId))),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.notifications(orgId) }),
  });
}

// Privacy requests (admins only)

export function usePrivacyRequests(orgId: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.privacyRequests(orgId),
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/privacy-requests", org(orgId))),
    select: (list) => list.data,
    enabled,
  });
}

export function useCompletePrivacyRequest(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.POST("/api/v1/orgs/{org_id}/privacy-requests/{request_id}/done", { params: { path: { org_id: orgId, request_id: id } } })),
    onSuccess: (done) =>
      queryClient.setQueryData(keys.privacyRequests(orgId), (list: { data: PrivacyRequest[] } | undefined) => replaceIn(list, done, (r) => r.id === done.id)),
  });
}
