import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { useNavigate } from "react-router";
import { z } from "zod/mini";
import type { components } from "../../api/schema";
import { ErrorNote, FormField } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { showProblem, text } from "../../forms";
import { useSession } from "../../session";
import { useCreateOrg } from "./queries";

const orgSchema = z.object({
  name: text(1, 100, "Enter an organization name of 1 to 100 characters."),
}) satisfies z.ZodMiniType<components["schemas"]["OrgIn"]>;

export default function NewOrg() {
  const { chooseOrg, me } = useSession();
  const navigate = useNavigate();
  const create = useCreateOrg();
  const form = useForm({ resolver: zodResolver(orgSchema), defaultValues: { name: "" } });
  const { errors, isSubmitting } = form.formState;

  const submit = form.handleSubmit(async ({ name }) => {
    try {
      const org = await create.mutateAsync(name);
      chooseOrg(org.id);
      navigate("/onboarding");
    } catch (error) {
      showProblem(form.setError, error, ["name"]);
    }
  });

  return (
    <div className="narrow">
      <h1>{me?.memberships.length ? "New organization" : "Create your organization"}</h1>
      <p className="muted">An organization holds your brand's integrations, members and keys.</p>
      <form onSubmit={submit} className="card stack" noValidate>
        <FormField label="Organization name" required error={errors.name?.message} {...form.register("name")} />
        <ErrorNote error={errors.root?.server?.message} />
        <button className="btn btn-primary" type="submit" disabled={isSubmitting}>
          {isSubmitting ? <Spinner label="Creating…" /> : "Create organization"}
        </button>
      </form>
    </div>
  );
}
