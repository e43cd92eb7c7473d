// The one place the SPA talks to the API: the generated client, the session's access token,
// one shared refresh (the refresh cookie is good once), and problems turned into errors.
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import type { Problem } from "./types";

let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
let onSignedOut: () => void = () => {};

export function setAccessToken(token: string | null) {
  accessToken = token;
}

export function hasSession() {
  return accessToken !== null;
}

export function whenSignedOut(handler: () => void) {
  onSignedOut = handler;
}

/** Trades the refresh cookie for an access token; concurrent callers share one request. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= fetch("/api/v1/auth/refresh", { method: "POST", credentials: "same-origin" })
    .then(async (res) => {
      if (!res.ok) {
        accessToken = null;
        return false;
      }
      const body = (await res.json()) as { access_token: string };
      accessToken = body.access_token;
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

function authorized(request: Request): Request {
  const next = new Request(request);
  if (accessToken) next.headers.set("authorization", `Bearer ${accessToken}`);
  return next;
}

async function sessionFetch(request: Request): Promise<Response> {
  const retry = request.clone();
  const response = await fetch(authorized(request));
  const isAuthCall = new URL(request.url).pathname.startsWith("/api/v1/auth/");
  if (response.status !== 401 || isAuthCall || accessToken === null) return response;
  if (await refreshSession()) return fetch(authorized(retry));
  onSignedOut();
  return response;
}

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  fetch: sessionFetch,
  credentials: "same-origin",
});

/** An API problem (RFC 9457) as an Error whose message is the sentence to show. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: { field: string; message: string }[];
  constructor(problem: Partial<Problem> & { status: number }) {
    super(problem.detail ?? problem.title ?? `The server answered ${problem.status}. Try again in a moment.`);
    this.status = problem.status;
    this.code = problem.code ?? "unknown";
    this.fields = problem.errors ?? [];
  }
  /** The message for one input field, if the server named it (`data.` prefixes ignored). */
  fieldMessage(field: string): string | undefined {
    return this.fields.find((f) => f.field === field || f.field === `data.${field}`)?.message;
  }
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The answer's data, or an ApiProblem carrying the problem's own sentence. */
export async function unwrap<T>(call: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch {
    throw new ApiProblem({ status: 0, detail: "Plugboard cannot be reached. Check your connection and try again." });
  }
  if (answer.error !== undefined || !answer.response.ok) {
    const body = (answer.error ?? {}) as Partial<Problem>;
    throw new ApiProblem({ ...body, status: answer.response.status });
  }
  return answer.data as T;
}

export function errorSentence(error: unknown): string {
  return error instanceof Error ? error.message : "Something went wrong. Try again.";
}
