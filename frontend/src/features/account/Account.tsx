// The account page: who you are and the ways you sign in — the password and the Microsoft or
// Google accounts linked to you — with linking and unlinking.
import { useState } from "react";
import { useSearchParams } from "react-router";
import { errorSentence } from "../../api/client";
import { Spinner } from "../../components/Spinner";
import { ssoFailureSentence } from "../../copy";
import { useSession } from "../../session";
import { dateTime } from "../../time";
import { useSsoProviders } from "../auth/queries";
import { ChangePassword } from "./ChangePassword";
import { useIdentities, useLinkIdentity, useUnlinkIdentity } from "./queries";

const providerNames: Record<string, string> = { microsoft: "Microsoft", google: "Google" };

export default function Account() {
  const { me } = useSession();
  const [params] = useSearchParams();
  const identities = useIdentities();
  const providers = useSsoProviders().data?.providers ?? [];
  const link = useLinkIdentity();
  const unlink = useUnlinkIdentity();
  const [problem, setProblem] = useState<string>();
  const linked = params.get("linked");
  const failure = ssoFailureSentence(params.get("error"));

  const startLink = async (provider: (typeof providers)[number]["id"]) => {
    setProblem(undefined);
    try {
      const started = await link.mutateAsync(provider);
      window.location.assign(started.authorization_url);
    } catch (error) {
      setProblem(errorSentence(error));
    }
  };

  const remove = async (id: string) => {
    setProblem(undefined);
    try {
      await unlink.mutateAsync(id);
    } catch (error) {
      setProblem(errorSentence(error));
    }
  };

  return (
    <div className="narrow stack">
      <h1>Your account</h1>
      <p>
        {me?.user.name} · {me?.user.email}
      </p>
      {linked && (
        <p className="ok-note" role="status">
          Your {providerNames[linked] ?? linked} account is linked: you can sign in with it from now on.
        </p>
      )}
      {failure && (
        <p className="error-note" role="alert">
          {failure}
        </p>
      )}
      {problem && (
        <p className="error-note" role="alert">
          {problem}
        </p>
      )}
      <section className="card stack" aria-labelledby="identities-title">
        <h2 id="identities-title">Linked sign-in accounts</h2>
        {identities.isPending ? (
          <Spinner label="Loading…" />
        ) : identities.data?.data.length ? (
          <ul className="plain-list">
            {identities.data.data.map((identity) => {
              const name = providerNames[identity.provider] ?? identity.provider;
              return (
                <li key={identity.id} aria-label={`${name} ${identity.email ?? ""}`.trim()}>
                  <strong>{name}</strong> {identity.email && <span>{identity.email}</span>}{" "}
                  <span className="muted small">linked {dateTime(identity.created_at)}</span>{" "}
                  <button
                    type="button"
                    className="btn btn-small"
                    aria-label={`Unlink ${name}${identity.email ? ` (${identity.email})` : ""}`}
                    onClick={() => remove(identity.id)}
                    disabled={unlink.isPending}
                  >
                    Unlink
                  </button>
                </li>
              );
            })}
          </ul>
        ) : (
          <p className="muted">No Microsoft or Google account is linked. Your password is how you sign in.</p>
        )}
        {providers.length > 0 && (
          <div className="stack">
            {providers.map((p) => (
              <button key={p.id} type="button" className="btn" onClick={() => startLink(p.id)} disabled={link.isPending}>
                Link a {p.name} account
              </button>
            ))}
          </div>
        )}
      </section>
      {me?.has_password ? (
        <ChangePassword />
      ) : (
        me && (
          <section className="card stack" aria-labelledby="password-title">
            <h2 id="password-title">Password</h2>
            <p className="muted">This account has no password: you sign in with a linked Microsoft or Google account.</p>
          </section>
        )
      )}
    </div>
  );
}
