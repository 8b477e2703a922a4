/**
 * A root module in Terraform's JSON syntax (`*.tf.json`), which OpenTofu and Terraform read alike.
 * Expressions are strings with `${…}` interpolation; the builder hands out typed references to
 * what it declared, so a module never spells an address by hand and cannot refer to something
 * it does not declare.
 */

/** A value in the JSON syntax: literals, `${…}` expressions inside strings, nested objects. */
export type TfValue = string | number | boolean | null | readonly TfValue[] | { readonly [key: string]: TfValue | undefined };

/** A reference to something the module declared, usable inside any expression string. */
export class TfRef {
  constructor(
    /** The expression without `${}`, e.g. `var.kubeconfig_path` or `helm_release.flux2.id`. */
    public readonly expression: string,
  ) {}

  /** The reference as an interpolated string value. */
  public toString(): string {
    return `\${${this.expression}}`;
  }
}

/** A declared resource: its address for `depends_on`, and references to its attributes. */
export class TfResource {
  constructor(
    public readonly type: string,
    public readonly name: string,
  ) {}

  /** `type.name`, as `depends_on` lists it. */
  public get address(): string {
    return `${this.type}.${this.name}`;
  }

  /** A reference to one of its attributes. */
  public attr(attribute: string): TfRef {
    return new TfRef(`${this.address}.${attribute}`);
  }
}

/** A variable declaration. */
export interface TfVariableProps {
  readonly description: string;
  readonly type: string;
  /** @default - required: the caller must set it */
  readonly default?: TfValue;
  /** Redacted from plan and apply output. @default false */
  readonly sensitive?: boolean;
  /** Never stored in a plan or in state; only write-only arguments and providers may use it. @default false */
  readonly ephemeral?: boolean;
  /** @default - any value of the type */
  readonly validation?: { readonly condition: string; readonly errorMessage: string };
}

/** Meta-arguments of a resource. */
export interface TfResourceOptions {
  readonly dependsOn?: readonly TfResource[];
  readonly ignoreChanges?: readonly string[];
}

const NAME = /^[a-z_][a-z0-9_]*$/;

/** Builds one module's JSON document. */
export class TerraformModule {
  private readonly comment?: string;
  private readonly settings: Record<string, TfValue>;
  private readonly variables: Record<string, TfValue> = {};
  private readonly providers: Record<string, TfValue> = {};
  private readonly resources: Record<string, Record<string, TfValue>> = {};
  private readonly outputs: Record<string, TfValue> = {};

  constructor(settings: { readonly comment?: string; readonly requiredVersion: string; readonly providers: Readonly<Record<string, { readonly source: string; readonly version: string }>>; readonly backend: Readonly<Record<string, Readonly<Record<string, TfValue>>>> }) {
    this.comment = settings.comment;
    this.settings = { required_version: settings.requiredVersion, required_providers: settings.providers, backend: settings.backend };
  }

  /** Declares `variable "<name>"` and returns `var.<name>`. */
  public variable(name: string, props: TfVariableProps): TfRef {
    this.checkName('variable', name, this.variables);
    this.variables[name] = {
      description: props.description,
      type: props.type,
      default: props.default,
      sensitive: props.sensitive,
      ephemeral: props.ephemeral,
      validation: props.validation ? [{ condition: props.validation.condition, error_message: props.validation.errorMessage }] : undefined,
    };
    return new TfRef(`var.${name}`);
  }

  /** Configures `provider "<name>"`, which `required_providers` must list. */
  public provider(name: string, config: Readonly<Record<string, TfValue>>): void {
    if (!(name in (this.settings.required_providers as object))) throw new Error(`provider '${name}' is configured but not in required_providers`);
    this.providers[name] = config;
  }

  /** Declares `resource "<type>" "<name>"`. */
  public resource(type: string, name: string, body: Readonly<Record<string, TfValue | undefined>>, options: TfResourceOptions = {}): TfResource {
    const provider = type.split('_')[0];
    if (!(provider in (this.settings.required_providers as object))) throw new Error(`resource type '${type}' needs provider '${provider}' in required_providers`);
    const ofType = (this.resources[type] ??= {});
    this.checkName(`resource ${type}`, name, ofType);
    ofType[name] = {
      ...body,
      depends_on: options.dependsOn?.length ? options.dependsOn.map((r) => r.address) : undefined,
      lifecycle: options.ignoreChanges ? { ignore_changes: options.ignoreChanges } : undefined,
    };
    return new TfResource(type, name);
  }

  /** Declares `output "<name>"`. */
  public output(name: string, props: { readonly description: string; readonly value: TfRef }): void {
    this.checkName('output', name, this.outputs);
    this.outputs[name] = { description: props.description, value: props.value.toString() };
  }

  /** The document, with empty sections and unset arguments left out. */
  public toJson(): string {
    const sections = { variable: this.variables, provider: this.providers, resource: this.resources, output: this.outputs };
    // "//" is the JSON syntax's comment property.
    const document = { '//': this.comment, terraform: this.settings, ...Object.fromEntries(Object.entries(sections).filter(([, section]) => Object.keys(section).length > 0)) };
    return `${JSON.stringify(document, null, 2)}\n`;
  }

  private checkName(what: string, name: string, declared: object): void {
    if (!NAME.test(name)) throw new Error(`${what} name '${name}' must be lower-case letters, digits and '_'`);
    if (name in declared) throw new Error(`${what} '${name}' is declared twice`);
  }
}

/**
 * A literal string inside the JSON syntax: `${` and `%{` start expressions and templates there,
 * so a literal (a chart's values, say) doubles them.
 */
export function literal(text: string): string {
  // In a replacement string `$$` is one `$`.
  return text.replace(/\$\{/g, '$$$${').replace(/%\{/g, '%%{');
}
