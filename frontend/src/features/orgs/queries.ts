// Creating and joining organizations; both change who the signed-in person is, so `me` is read again.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { meQuery } from "../../session";

export function useCreateOrg() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => unwrap(api.POST("/api/v1/orgs", { body: { name } })),
    onSuccess: () => queryClient.refetchQueries({ queryKey: meQuery.queryKey }),
  });
}

export function useAcceptInvitation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (token: string) => unwrap(api.POST("/api/v1/invitations/{token}/accept", { params: { path: { token } } })),
    onSuccess: () => queryClient.refetchQueries({ queryKey: meQuery.queryKey }),
  });
}
