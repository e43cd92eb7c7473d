import { zodResolver } from "@hookform/resolvers/zod";
import { useState, type ReactNode } from "react";
import { useFieldArray, useForm } from "react-hook-form";
import { useNavigate } from "react-router";
import { z } from "zod/mini";
import type { components } from "../../api/schema";
import type { FeatureFlag, Integration, StepId } from "../../api/types";
import { ErrorNote, FormField, SelectField, TextAreaField } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { oauthFailureSentence } from "../../copy";
import { email, emptyOr, showProblem, text } from "../../forms";
import { useIntegration, useIntegrations, useStartOAuth } from "../integrations/queries";
import { useFeatureFlags } from "../settings/queries";
import { stepOf } from "./progress";
import type { ScreenProps } from "./Wizard";

type Schemas = components["schemas"];
type Saved = Record<string, unknown>;

function saved(props: ScreenProps, id: StepId): Saved {
  return (stepOf(props.progress, id)?.data ?? {}) as Saved;
}

/** Runs a step change with a busy flag and the problem's sentence on failure. */
function useAction() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  async function run(label: string, action: () => Promise<unknown>) {
    setBusy(label);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  }
  return { busy, error, run };
}

function Buttons({ busy, skip, continueLabel = "Continue", disabled }: { busy: string | null; skip?: () => void; continueLabel?: string; disabled?: boolean }) {
  return (
    <div className="actions">
      {skip && (
        <button type="button" className="btn" onClick={skip} disabled={!!busy}>
          Skip for now
        </button>
      )}
      <button type="submit" className="btn btn-primary" disabled={!!busy || disabled}>
        {busy ? <Spinner label={busy} /> : continueLabel}
      </button>
    </div>
  );
}

function isWebsite(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname.includes(".");
  } catch {
    return false;
  }
}

/** The server checks these too (and the time zone and currency lists); these catch the obvious at once. */
const basicInfoSchema = z.object({
  name: text(1, 100, "Enter the brand's name (1 to 100 characters)."),
  website: z.string().check(z.trim(), z.refine(isWebsite, "Enter the brand's website as a full address, like https://www.example.com.")),
  timezone: z.string(),
  currency: z.string().check(z.trim(), z.toUpperCase(), z.regex(/^[A-Z]{3}$/, "Enter the currency's three-letter code, such as USD or EUR.")),
}) satisfies z.ZodMiniType<Schemas["BasicInfoIn"]>;

export function BasicInfo(props: ScreenProps) {
  const data = saved(props, "basic_info");
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const form = useForm({
    resolver: zodResolver(basicInfoSchema),
    defaultValues: {
      name: String(data.name ?? ""),
      website: String(data.website ?? ""),
      timezone: String(data.timezone ?? (zones.includes(here) ? here : "UTC")),
      currency: String(data.currency ?? "USD"),
    },
  });
  const { errors, isSubmitting } = form.formState;
  const submit = form.handleSubmit(async (info) => {
    try {
      await props.save("basic_info", { action: "complete", data: info });
      props.next();
    } catch (error) {
      showProblem(form.setError, error, ["name", "website", "timezone", "currency"]);
    }
  });
  return (
    <form onSubmit={submit} className="stack" noValidate>
      <p className="muted">Tell us about your brand. You can change this later.</p>
      <FormField label="Brand name" required error={errors.name?.message} {...form.register("name")} />
      <FormField
        label="Website"
        type="url"
        placeholder="https://www.example.com"
        required
        error={errors.website?.message}
        {...form.register("website")}
      />
      <SelectField label="Time zone" error={errors.timezone?.message} {...form.register("timezone")}>
        {["UTC", ...zones.filter((zone) => zone !== "UTC")].map((zone) => (
          <option key={zone}>{zone}</option>
        ))}
      </SelectField>
      <FormField
        label="Currency"
        required
        maxLength={3}
        hint="Three letters, such as USD or EUR."
        error={errors.currency?.message}
        {...form.register("currency")}
      />
      <ErrorNote error={errors.root?.server?.message} />
      <Buttons busy={isSubmitting ? "Saving…" : null} />
    </form>
  );
}

export function Shopify(props: ScreenProps) {
  const shopify = useIntegration(props.orgId, "shopify");
  if (shopify.isPending) return <Spinner label="Checking your Shopify connection…" />;
  if (!shopify.data?.usable) return <ShopifyConnect {...props} shopify={shopify.data} />;
  return <ShopifySetup {...props} shopify={shopify.data} />;
}

const shopSchema = z.object({
  shop: z.string().check(
    z.trim(),
    z.toLowerCase(),
    z.regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, "Shop domain must look like your-store.myshopify.com (lower-case letters, digits and hyphens)."),
  ),
});

/** Step 2 before the store is connected: its domain, then Shopify's consent in this tab. */
function ShopifyConnect(props: ScreenProps & { shopify: Integration | undefined }) {
  const oauth = useStartOAuth(props.orgId);
  const failed = props.landing?.provider === "shopify" && !props.landing.ok ? props.landing : null;
  const form = useForm({ resolver: zodResolver(shopSchema), defaultValues: { shop: String(props.shopify?.config.shop ?? "") } });
  const { errors } = form.formState;
  const connect = form.handleSubmit(async ({ shop }) => {
    try {
      await oauth.mutateAsync({ provider: "shopify", config: { shop }, returnTo: "/onboarding" });
    } catch (error) {
      showProblem(form.setError, error, ["shop"]);
    }
  });
  return (
    <form onSubmit={connect} className="stack" noValidate>
      <p>Plugboard needs your Shopify store: products, orders and checkout come from it. This step is required.</p>
      <p className="muted">You will approve access on Shopify's page in this tab, then come back here.</p>
      {failed && (
        <p role="alert" className="error-note">
          Shopify did not connect. {oauthFailureSentence(failed.code)}
        </p>
      )}
      {props.shopify?.needs_attention && <p className="error-note">{props.shopify.last_error?.message}</p>}
      <FormField
        label="Shop domain"
        placeholder="your-store.myshopify.com"
        required
        autoComplete="off"
        error={errors.shop?.message}
        {...form.register("shop")}
      />
      <ErrorNote error={errors.root?.server?.message} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={oauth.isPending}>
          {oauth.isPending ? <Spinner label="Connecting…" /> : "Connect Shopify"}
        </button>
      </div>
    </form>
  );
}

const SYNC_CHOICES = [
  ["sync_products", "Products"],
  ["sync_orders", "Orders"],
  ["sync_customers", "Customers"],
] as const;

/** Step 2 once the store is connected: what to keep in sync with it. */
function ShopifySetup(props: ScreenProps & { shopify: Integration }) {
  const setup = saved(props, "shopify_setup");
  const form = useForm<Record<(typeof SYNC_CHOICES)[number][0], boolean>>({
    // Every choice is on unless the brand turned it off.
    defaultValues: { sync_products: setup.sync_products !== false, sync_orders: setup.sync_orders !== false, sync_customers: setup.sync_customers !== false },
  });
  const { errors, isSubmitting } = form.formState;
  const finish = form.handleSubmit(async (choices) => {
    try {
      if (stepOf(props.progress, "connect_shopify")?.status !== "completed") {
        await props.save("connect_shopify", { action: "complete" });
      }
      await props.save("shopify_setup", { action: "complete", data: choices });
      props.next();
    } catch (error) {
      showProblem(form.setError, error, []);
    }
  });
  return (
    <form onSubmit={finish} className="stack">
      <p className="ok-note" role="status">
        ✓ Connected to {props.shopify.account_name ?? "your store"} ({props.shopify.config.shop})
      </p>
      <fieldset>
        <legend>What Plugboard keeps in sync with your store</legend>
        {SYNC_CHOICES.map(([key, label]) => (
          <label key={key} className="check">
            <input type="checkbox" {...form.register(key)} /> {label}
          </label>
        ))}
      </fieldset>
      <ErrorNote error={errors.root?.server?.message} />
      <Buttons busy={isSubmitting ? "Saving…" : null} />
    </form>
  );
}

interface DnsDomain {
  domain: string;
  status: string;
  dns_record: { type: string; name: string; value: string };
}

export function Domains(props: ScreenProps) {
  const { busy, error, run } = useAction();
  const stored = (saved(props, "domains").domains ?? []) as (DnsDomain | string)[];
  const records = stored.filter((d): d is DnsDomain => typeof d === "object");
  const form = useForm({ defaultValues: { domains: stored.map((d) => (typeof d === "string" ? d : d.domain)).join("\n") } });
  const { errors, isSubmitting } = form.formState;
  const submit = form.handleSubmit(async ({ domains }) => {
    try {
      await props.save("domains", { action: "complete", data: { domains: domains.split(/[\s,]+/).filter(Boolean) } });
    } catch (error) {
      // Each refused host name (`data.domains[i]`) is told under the one field.
      showProblem(form.setError, error, ["domains"]);
    }
  });
  return (
    <form onSubmit={submit} className="stack" noValidate>
      <p className="muted">Serve your store from your own domain. Add each host name on its own line.</p>
      <TextAreaField label="Domain names" rows={3} placeholder="shop.example.com" error={errors.domains?.message} {...form.register("domains")} />
      <ErrorNote error={errors.root?.server?.message ?? error} />
      {records.length > 0 && (
        <div>
          <h2 className="h3">Add these DNS records at your DNS provider</h2>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">Status</th>
                <th scope="col">Type</th>
                <th scope="col">Name</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {records.map((d) => (
                <tr key={d.domain}>
                  <td>{d.domain}</td>
                  <td>{d.status.replace(/_/g, " ")}</td>
                  <td>{d.dns_record.type}</td>
                  <td>
                    <code>{d.dns_record.name}</code>
                  </td>
                  <td>
                    <code>{d.dns_record.value}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="actions">
        <button
          type="button"
          className="btn"
          onClick={() =>
            run("Skipping…", async () => {
              await props.save("domains", { action: "skip" });
              props.next();
            })
          }
          disabled={!!busy || isSubmitting}
        >
          Skip for now
        </button>
        <button type="submit" className="btn" disabled={!!busy || isSubmitting}>
          {isSubmitting ? <Spinner label="Saving…" /> : "Save domains"}
        </button>
        {records.length > 0 && (
          <button type="button" className="btn btn-primary" onClick={props.next}>
            Continue
          </button>
        )}
      </div>
    </form>
  );
}

export function Payments(props: ScreenProps) {
  const stripe = useIntegration(props.orgId, "stripe");
  const oauth = useStartOAuth(props.orgId);
  const { busy, error, run } = useAction();
  const connected = stripe.data?.usable === true;
  const failed = props.landing?.provider === "stripe" && !props.landing.ok ? props.landing : null;
  return (
    <form
      className="stack"
      onSubmit={(e) => {
        e.preventDefault();
        run("Saving…", async () => {
          await props.save("payments", { action: "complete" });
          props.next();
        });
      }}
    >
      <p>
        Take payments with Stripe Connect. <span className="badge badge-recommended">Recommended</span>
      </p>
      {failed && (
        <p role="alert" className="error-note">
          Stripe did not connect. {oauthFailureSentence(failed.code)}
        </p>
      )}
      {stripe.isPending && <Spinner label="Checking Stripe…" />}
      {connected ? (
        <p className="ok-note" role="status">
          ✓ Connected to {stripe.data?.account_name ?? "your Stripe account"}
        </p>
      ) : (
        <button
          type="button"
          className="btn btn-primary"
          disabled={oauth.isPending}
          onClick={() => oauth.mutate({ provider: "stripe", returnTo: "/onboarding" })}
        >
          {oauth.isPending ? <Spinner label="Connecting…" /> : "Connect Stripe"}
        </button>
      )}
      <ErrorNote error={error ?? oauth.error} />
      <div className="actions">
        <button
          type="button"
          className="btn"
          disabled={!!busy}
          onClick={() =>
            run("Skipping…", async () => {
              await props.save("payments", { action: "skip" });
              props.next();
            })
          }
        >
          Skip for now
        </button>
        <button type="submit" className="btn btn-primary" disabled={!!busy || !connected}>
          {busy === "Saving…" ? <Spinner label="Saving…" /> : "Continue"}
        </button>
      </div>
    </form>
  );
}

export function Features(props: ScreenProps) {
  const flags = useFeatureFlags(props.orgId);
  const integrations = useIntegrations(props.orgId);
  if (flags.isPending || integrations.isPending) return <Spinner label="Loading features…" />;
  return <FeaturesForm {...props} flags={flags.data ?? []} integrations={integrations.data ?? []} loadError={flags.error} />;
}

function FeaturesForm({ flags, integrations, loadError, ...props }: ScreenProps & { flags: FeatureFlag[]; integrations: Integration[]; loadError: unknown }) {
  const nameOf = (id: string) => integrations.find((i) => i.provider === id)?.name ?? id;
  // By position: flag keys hold dots, which the form would read as nesting.
  const form = useForm({ defaultValues: { on: flags.map((f) => f.enabled && f.can_enable) } });
  const { errors, isSubmitting } = form.formState;
  const submit = form.handleSubmit(async ({ on }) => {
    // Only what the brand changed; a flag whose integration is missing cannot be turned on yet.
    const choices = Object.fromEntries(
      flags.flatMap((f, n) => {
        const chosen = on[n] === true;
        return chosen !== f.enabled && !(chosen && !f.can_enable) ? [[f.key, chosen]] : [];
      }),
    );
    try {
      await props.save("features", { action: "complete", data: { flags: choices } });
      props.next();
    } catch (error) {
      showProblem(form.setError, error, []);
    }
  });
  return (
    <form onSubmit={submit} className="stack">
      <p className="muted">Choose what your store uses. A feature that needs an integration can be turned on once it is connected.</p>
      <fieldset>
        <legend>Features</legend>
        {flags.map((f, n) => {
          const waiting = !f.can_enable;
          return (
            <label key={f.key} className="check">
              <input type="checkbox" disabled={waiting} {...form.register(`on.${n}`)} /> <strong>{f.name}</strong>
              <span className="muted small">
                {" "}
                — {f.description}
                {waiting && f.requires_connection && ` Connect ${nameOf(f.requires_connection)} first.`}
              </span>
            </label>
          );
        })}
      </fieldset>
      <ErrorNote error={errors.root?.server?.message ?? loadError} />
      <Buttons busy={isSubmitting ? "Saving…" : null} />
    </form>
  );
}

export function ImportProducts(props: ScreenProps) {
  const { busy, error, run } = useAction();
  const data = saved(props, "import_products");
  const count = typeof data.product_count === "number" ? data.product_count : null;
  return (
    <div className="stack">
      <p>Bring your Shopify products into Plugboard now, or later from Settings.</p>
      {count !== null && (
        <p className="ok-note" role="status">
          ✓ {count} {count === 1 ? "product" : "products"} found in your store.
        </p>
      )}
      <ErrorNote error={error} />
      <div className="actions">
        <button
          type="button"
          className="btn"
          disabled={!!busy}
          onClick={() =>
            run("Saving…", async () => {
              await props.save("import_products", { action: "complete", data: { choice: "later" } });
              props.next();
            })
          }
        >
          Import later
        </button>
        <button
          type="button"
          className="btn btn-primary"
          disabled={!!busy}
          onClick={() => run("Counting your products…", () => props.save("import_products", { action: "complete", data: { choice: "now" } }))}
        >
          {busy === "Counting your products…" ? <Spinner label={busy} /> : "Import products now"}
        </button>
        {count !== null && (
          <button type="button" className="btn btn-primary" onClick={props.next}>
            Continue
          </button>
        )}
      </div>
    </div>
  );
}

const inviteSchema = z.object({
  invitations: z.array(
    z.object({
      // An empty row is left out, not refused.
      email: emptyOr((value) => email().safeParse(value).success, "Enter a valid e-mail address."),
      role: z.enum(["member", "admin"]) satisfies z.ZodMiniType<Schemas["InvitationIn"]["role"]>,
    }),
  ),
});

export function InviteUsers(props: ScreenProps) {
  const invited = (saved(props, "invite_users").invited ?? []) as Schemas["InvitationIn"][];
  const form = useForm({ resolver: zodResolver(inviteSchema), defaultValues: { invitations: [{ email: "", role: "member" as const }] } });
  const rows = useFieldArray({ control: form.control, name: "invitations" });
  const { errors, isSubmitting } = form.formState;
  const skip = useAction();
  const submit = form.handleSubmit(async ({ invitations }) => {
    const filled = invitations.map((row, n) => ({ ...row, n })).filter((row) => row.email);
    try {
      await props.save("invite_users", { action: "complete", data: { invitations: filled.map(({ email, role }) => ({ email, role })) } });
      props.next();
    } catch (error) {
      // The server counts only the rows sent: its `invitations[k]` is the k-th filled row here.
      const names = invitations.flatMap((_, n) => [`invitations.${n}.email`, `invitations.${n}.role`]);
      showProblem(form.setError, error, names, (path) => path.replace(/^invitations\.(\d+)/, (_, k) => `invitations.${filled[Number(k)]?.n ?? k}`));
    }
  });
  return (
    <form onSubmit={submit} className="stack" noValidate>
      <p className="muted">Invite the people who run the store with you. They get a link to join.</p>
      {invited.length > 0 && <p className="muted">Already invited: {invited.map((i) => i.email).join(", ")}</p>}
      {rows.fields.map((row, n) => (
        <div className="inline-row" key={row.id}>
          <FormField label={`E-mail ${n + 1}`} type="email" error={errors.invitations?.[n]?.email?.message} {...form.register(`invitations.${n}.email`)} />
          <SelectField label={`Role ${n + 1}`} error={errors.invitations?.[n]?.role?.message} {...form.register(`invitations.${n}.role`)}>
            <option value="member">Member</option>
            <option value="admin">Admin</option>
          </SelectField>
        </div>
      ))}
      <button type="button" className="btn btn-small" onClick={() => rows.append({ email: "", role: "member" })}>
        + Add another
      </button>
      <ErrorNote error={errors.root?.server?.message ?? skip.error} />
      <Buttons
        busy={isSubmitting ? "Sending invitations…" : skip.busy}
        continueLabel="Send invitations"
        skip={() =>
          skip.run("Skipping…", async () => {
            await props.save("invite_users", { action: "skip" });
            props.next();
          })
        }
      />
    </form>
  );
}

interface Summary {
  connected?: { name: string }[];
  failed?: { name: string }[];
  skipped?: { name: string }[];
}

export function Review(props: ScreenProps) {
  const navigate = useNavigate();
  const { busy, error, run } = useAction();
  const summary = (saved(props, "review_launch").summary ?? null) as Summary | null;
  const rows: [string, ReactNode][] = props.progress.steps
    .filter((s) => s.id !== "review_launch")
    .map((s) => [s.id, s.status]);
  return (
    <div className="stack">
      <p>Check your setup, then launch. Anything skipped can be finished later from Settings.</p>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([id, status]) => (
            <tr key={id}>
              <td>{id.replace(/_/g, " ")}</td>
              <td>{status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {summary && (
        <p>
          Integrations: {summary.connected?.length ?? 0} connected, {summary.failed?.length ?? 0} need attention,{" "}
          {summary.skipped?.length ?? 0} skipped.
        </p>
      )}
      {props.progress.launched_at && <p className="ok-note">✓ Launched.</p>}
      <ErrorNote error={error} />
      <div className="actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={!!busy}
          onClick={() =>
            run("Launching…", async () => {
              await props.save("review_launch", { action: "complete" });
              navigate("/settings/integrations");
            })
          }
        >
          {busy ? <Spinner label={busy} /> : "Launch"}
        </button>
      </div>
    </div>
  );
}
