/**
 * The injection function's agreed contract (src/inject/inject.ts on the `inject` branch). The webhook
 * takes the function as a dependency, so it depends only on these types.
 */
export interface InjectDefaults {
  readonly image: string;
  readonly sidecar: 'native' | 'classic';
}

export interface InjectContext {
  readonly defaults: InjectDefaults;
  /** the webhook passes {'eureka-drainer/inject':'enabled'} when the namespace selector matched */
  readonly namespaceAnnotations?: Readonly<Record<string, string>>;
  readonly configMaps?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export type InjectResult =
  | { readonly kind: 'injected'; readonly object: unknown; readonly changes: readonly string[] }
  | { readonly kind: 'unchanged'; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason: string };

export type InjectFunction = (object: unknown, context: InjectContext) => InjectResult;
