// Who is signed in and which organization they are working in.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { queryOptions, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, refreshSession, setAccessToken, unwrap, whenSignedOut } from "./api/client";
import type { Me, Membership } from "./api/types";

const ORG_KEY = "plugboard.org";

type Phase = "loading" | "signed_out" | "signed_in";

interface Session {
  phase: Phase;
  me: Me | undefined;
  org: Membership | undefined;
  isAdmin: boolean;
  chooseOrg: (orgId: string) => void;
  signedIn: (accessToken: string) => Promise<void>;
  logOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

/** Who is signed in, with their organizations: read at sign-in and again when they change. */
export const meQuery = queryOptions({ queryKey: ["me"], queryFn: () => unwrap(api.GET("/api/v1/me")) });

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [phase, setPhase] = useState<Phase>("loading");
  const [orgId, setOrgId] = useState<string | null>(() => localStorage.getItem(ORG_KEY));

  useEffect(() => {
    whenSignedOut(() => {
      setPhase("signed_out");
      queryClient.clear();
    });
    let live = true;
    refreshSession().then((ok) => live && setPhase(ok ? "signed_in" : "signed_out"));
    return () => {
      live = false;
    };
  }, [queryClient]);

  const meAnswer = useQuery({ ...meQuery, enabled: phase === "signed_in" });
  const me = meAnswer.data;
  const org = me?.memberships.find((m) => m.org_id === orgId) ?? me?.memberships[0];

  const chooseOrg = useCallback((id: string) => {
    localStorage.setItem(ORG_KEY, id);
    setOrgId(id);
  }, []);

  const signedIn = useCallback(
    async (token: string) => {
      setAccessToken(token);
      queryClient.clear();
      await queryClient.fetchQuery(meQuery);
      setPhase("signed_in");
    },
    [queryClient],
  );

  const logOut = useCallback(async () => {
    await api.POST("/api/v1/auth/logout").catch(() => undefined);
    setAccessToken(null);
    setPhase("signed_out");
    queryClient.clear();
  }, [queryClient]);

  const value = useMemo<Session>(
    () => ({
      phase: phase !== "signed_in" ? phase : me ? "signed_in" : meAnswer.isError ? "signed_out" : "loading",
      me,
      org,
      isAdmin: org?.role === "owner" || org?.role === "admin",
      chooseOrg,
      signedIn,
      logOut,
    }),
    [phase, me, meAnswer.isError, org, chooseOrg, signedIn, logOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

/** The current organization's id; pages under the app layout always have one. */
export function useOrgId(): string {
  const { org } = useSession();
  if (!org) throw new Error("no organization chosen");
  return org.org_id;
}
