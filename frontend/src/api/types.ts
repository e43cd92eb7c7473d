// Names for the generated schemas; never hand-written shapes.
import type { components } from "./schema";

type S = components["schemas"];
export type Integration = S["IntegrationOut"];
export type Provider = S["ProviderOut"];
export type Field = S["FieldOut"];
export type EventItem = S["EventOut"];
export type Me = S["MeOut"];
export type Membership = S["MembershipOut"];
export type Onboarding = S["OnboardingOut"];
export type OnboardingStep = S["OnboardingStepOut"];
export type StepPatch = S["OnboardingStepPatch"];
export type FeatureFlag = S["FeatureFlagOut"];
export type ApiKey = S["ApiKeyOut"];
export type ApiKeyCreated = S["ApiKeyCreatedOut"];
export type Member = S["MemberOut"];
export type Invitation = S["InvitationOut"];
export type InvitationIn = S["InvitationIn"];
export type Readiness = S["ReadinessOut"];
export type PrivacyRequest = S["PrivacyRequestOut"];
export type InboundWebhook = S["InboundWebhookOut"];
export type TestResult = S["TestOut"];
export type Problem = S["Problem"];
export type IntegrationStatus = Integration["status"];
export type ApiKeyIn = S["ApiKeyIn"];
export type RoleIn = S["Role"];
export type Identity = S["IdentityOut"];
export type SsoProviderId = S["SsoProviderId"];
import type { paths } from "./schema";
/** A wizard step's id as the API names it (a union once the document lists them). */
export type StepId = paths["/api/v1/orgs/{org_id}/onboarding/steps/{step}"]["patch"]["parameters"]["path"]["step"];
