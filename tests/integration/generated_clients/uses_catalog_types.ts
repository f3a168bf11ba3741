// What a web developer writes with the types openapi-typescript generates from openapi.yaml.
// test_generated_clients.py generates `catalog-api.d.ts` next to a copy of this file and runs
// `tsc --strict --noEmit` on it; the @ts-expect-error lines must stay errors.
import type { components, operations, paths } from "./catalog-api";

type Model = components["schemas"]["Model"];
type ErrorResponse = components["schemas"]["ErrorResponse"];
type ListQuery = NonNullable<operations["listModels"]["parameters"]["query"]>;
type ListBody = paths["/models"]["get"]["responses"][200]["content"]["application/json"];
type ListHeaders = operations["listModels"]["responses"][200]["headers"];

export const toolModelsFromAnthropic: ListQuery = { provider: "anthropic", supports_tools: true };
export const googleImageInput: ListQuery = { owned_by: "google", input_modality: "image" };
// @ts-expect-error modalities are an enumeration
export const unknownModality: ListQuery = { output_modality: "pdf" };
// @ts-expect-error the filters are booleans, not the strings "true" and "false"
export const stringFilter: ListQuery = { supports_tools: "true" };
// @ts-expect-error providers are an enumeration
export const unknownProvider: ListQuery = { provider: "mistral" };

export function cheapestInput(list: ListBody): Model | undefined {
  return [...list.models].sort((a, b) => a.cost_per_1k_input - b.cost_per_1k_input)[0];
}

/** Credits (1 credit = US$0.01) per 1,000 tokens, as US dollars per million tokens. */
export function usdPerMillionInput(model: Model): number {
  return model.cost_per_1k_input * 1000 * 0.01;
}

/** What a model's output price is per, for people. */
export function outputPrice(model: Model): string {
  const per = model.output_price_per === "image" ? "image" : "1,000 output tokens";
  return `${model.cost_per_1k_output} credits per ${per}`;
}

export function explain(body: ErrorResponse): string {
  const { code, message, request_id } = body.error;
  switch (code) {
    case "unauthenticated":
      return `sign in again (request ${request_id})`;
    case "rate_limited":
    case "unavailable":
      return `retry later: ${message}`;
    default:
      return message;
  }
}

export function cacheKey(headers: ListHeaders): string {
  return `${headers.ETag} ${headers["Cache-Control"]} ${headers["X-Request-Id"]}`;
}

// @ts-expect-error a model without its prices is not a Model
export const incomplete: Model = { id: "x", name: "X", provider: "openai" };
