/**
 * supertest's `res.body` and axios's `data` are the parsed JSON typed `any`; a test names the shape it reads. This
 * is the one place that shape is taken on trust: the assertions that follow check the values.
 */
export const bodyOf = <T>(res: { readonly body: unknown }): T => res.body as T;

/** An error answer of the drainer or the webhook (src/http/routes.ts): a code, a sentence, and for a 404 the paths. */
export interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly paths?: readonly string[];
}
