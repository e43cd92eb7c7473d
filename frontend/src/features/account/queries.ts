// The signed-in person's own sign-in methods: identities at Microsoft and Google.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { SsoProviderId } from "../../api/types";

const identitiesKey = ["me", "identities"];

export function useIdentities() {
  return useQuery({ queryKey: identitiesKey, queryFn: () => unwrap(api.GET("/api/v1/me/identities")) });
}

/** Starts linking: the provider's page to send the browser to. */
export function useLinkIdentity() {
  return useMutation({
    mutationFn: (provider: SsoProviderId) =>
      unwrap(api.POST("/api/v1/me/identities", { body: { provider } })),
  });
}

export function useUnlinkIdentity() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/me/identities/{identity_id}", { params: { path: { identity_id: id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: identitiesKey }),
  });
}

export type PasswordChange = { current_password: string; new_password: string };

/** Changes the password: the answer is this browser's new session. */
export function useChangePassword() {
  return useMutation({
    mutationFn: (body: PasswordChange) => unwrap(api.PUT("/api/v1/me/password", { body })),
  });
}
