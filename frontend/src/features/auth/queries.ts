// Signing in and up; the session takes the access token from there.
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

export type LogInInput = components["schemas"]["LoginIn"];
export type SignUpInput = components["schemas"]["SignupIn"];

export function useLogIn() {
  return useMutation({ mutationFn: (body: LogInInput) => unwrap(api.POST("/api/v1/auth/login", { body })) });
}

export function useSignUp() {
  return useMutation({ mutationFn: (body: SignUpInput) => unwrap(api.POST("/api/v1/auth/signup", { body })) });
}

/** The providers this server offers sign-in with (none unless configured). */
export function useSsoProviders() {
  return useQuery({ queryKey: ["sso-providers"], queryFn: () => unwrap(api.GET("/api/v1/auth/sso")), staleTime: 5 * 60_000 });
}
