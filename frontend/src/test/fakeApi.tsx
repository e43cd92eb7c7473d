// A stand-in for the API behind the real client: tests name the answers per "METHOD /path",
// render a page inside the app's providers, and read back what was sent.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes } from "react-router";
import { vi } from "vitest";
import { ToastProvider } from "../components/Toasts";
import { SessionProvider, useSession } from "../session";
import type { Integration, Me, Provider } from "../api/types";

export const ORG = "org-1";

type Answer = { status?: number; body: unknown } | ((body: unknown) => { status?: number; body: unknown });

export interface Sent {
  method: string;
  path: string;
  body: unknown;
}

/** Stubs `fetch` with answers keyed by "METHOD /path"; anything else is a 404 problem. */
export function fakeApi(answers: Record<string, Answer>) {
  const sent: Sent[] = [];
  const all: Record<string, Answer> = {
    "POST /api/v1/auth/refresh": { body: { access_token: "token" } },
    "GET /api/v1/me": { body: me },
    ...answers,
  };
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"), init);
      const path = new URL(request.url).pathname;
      const text = request.method === "GET" ? "" : await request.text();
      const body = text ? JSON.parse(text) : undefined;
      sent.push({ method: request.method, path, body });
      const answer = all[`${request.method} ${path}`];
      const { status = 200, body: out } = typeof answer === "function" ? answer(body) : (answer ?? notFound);
      const type = status >= 400 ? "application/problem+json" : "application/json";
      return new Response(JSON.stringify(out), { status, headers: { "content-type": type } });
    }),
  );
  return sent;
}

const notFound = { status: 404, body: { type: "about:blank", title: "Not found", status: 404, code: "not_found", detail: "Nothing here." } };

export const me: Me = {
  user: { id: "user-1", name: "Ann Lee", email: "ann@acme.example", created_at: "2026-11-24T09:30:00Z" },
  has_password: true,
  memberships: [{ org_id: ORG, org_name: "Acme", role: "owner" }],
  platform_admin: false,
};

export function testQueryClient() {
  return new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
}

export function renderPage(path: string, pattern: string, page: ReactNode, queryClient = testQueryClient()) {
  localStorage.setItem("plugboard.org", ORG);
  const utils = render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[path]}>
        <ToastProvider>
          <SessionProvider>
            <Routes>
              <Route path={pattern} element={<WithOrg>{page}</WithOrg>} />
            </Routes>
          </SessionProvider>
        </ToastProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return { ...utils, queryClient };
}

/** What the app's layout does: the page only once the session and its organization are known. */
function WithOrg({ children }: { children: ReactNode }) {
  const { org } = useSession();
  return org ? children : null;
}

export const resend: Integration = {
  provider: "resend",
  name: "Resend",
  description: "Transactional e-mail.",
  category: "communication",
  category_label: "Communication",
  auth_type: "api_key",
  status: "connected",
  enabled: true,
  live: true,
  usable: true,
  needs_attention: false,
  onboarding: "optional",
  logo: "resend.svg",
  docs_url: "https://resend.com/docs",
  account_name: "Acme Sandbox · Resend",
  credentials: { api_key: { configured: true, last4: "6789" } },
  config: {},
  scopes: [],
};

export const resendProvider: Provider = {
  id: "resend",
  name: "Resend",
  description: "Transactional e-mail.",
  category: "communication",
  category_label: "Communication",
  auth_type: "api_key",
  docs_url: "https://resend.com/docs",
  feature_flag: "integrations.resend",
  level: "tenant",
  logo: "resend.svg",
  onboarding: "optional",
  platform_missing: [],
  platform_ready: true,
  scopes: [],
  resources: [],
  fields: [
    {
      key: "api_key",
      label: "API key",
      kind: "text",
      required: true,
      secret: true,
      before_consent: false,
      pattern: "^re_[A-Za-z0-9_]{8,}$",
      help: "A Resend API key starts with re_.",
    },
  ],
};

/** What the provider page asks for, with Resend connected. */
export function providerPageAnswers(integration: Integration = resend, provider: Provider = resendProvider): Record<string, Answer> {
  const base = `/api/v1/orgs/${ORG}`;
  return {
    [`GET ${base}/integrations/resend`]: { body: integration },
    [`GET ${base}/integrations`]: { body: { data: [integration] } },
    "GET /api/v1/providers": { body: { data: [provider] } },
    [`GET ${base}/feature-flags`]: { body: { data: [] } },
    [`GET ${base}/integrations/resend/events`]: { body: { data: [], next_cursor: null } },
  };
}
