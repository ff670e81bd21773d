// Types of the Consentry widget's public API (window.Consentry), its DOM events and the banner
// config it reads (docs/widget-protocol.md, docs/embedding.md).

/** {category id: granted} for every category of the site. */
export type Choices = Record<string, boolean>;

export type Action = 'accept_all' | 'reject_all' | 'custom' | 'withdraw' | 'acknowledge' | 'opt_out' | 'opt_in';
export type Method = 'banner' | 'preferences' | 'gpc' | 'api' | 'placeholder';

export interface DocumentRef {
  version: number;
  sha256?: string;
}

export interface Consent {
  choices: Choices;
  documents: Record<string, DocumentRef>;
  /** ISO 8601; the service's time once delivered, else the browser's */
  recorded_at: string;
  /** compact JWS from the service, once the choice is delivered */
  receipt?: string;
}

export interface ChangeDetail extends Consent {
  action: Action;
  method: Method;
}

export interface ErrorDetail {
  error: unknown;
  event?: object;
  status?: number;
}

export interface Category {
  id: string;
  title: string;
  description: string;
  required: boolean;
  sale_or_sharing: boolean;
  /** uses sensitive personal information: opt-out regions offer "Limit the Use of ..." */
  sensitive: boolean;
  cookies: { name: string; provider: string; duration: string; purpose: string }[];
}

export interface Theme {
  accent?: string;
  text?: string;
  background?: string;
  radius?: number;
  position?: 'bar' | 'box' | 'modal';
  logo_url?: string;
}

/** GET /api/v1/sites/{site}/banner, also carried by /s/{site}.js */
export interface BannerConfig {
  site: string;
  /** the visitor's region as the service resolved it (null: unknown) */
  region: string | null;
  mode: 'opt-in' | 'notice' | 'opt-out';
  /** the first layer's buttons for this mode, in order (`data-consentry-action` values) */
  first_layer: ('accept_all' | 'reject_all' | 'settings' | 'acknowledge' | 'opt_out' | 'limit_sensitive')[];
  locale: string;
  dir: 'ltr' | 'rtl';
  texts: Record<string, string>;
  categories: Category[];
  documents: {
    kind: string;
    version: number;
    sha256: string;
    title: string;
    url: string;
    material: boolean;
    last_material_version: number;
    summary: string | null;
    diff_url: string | null;
  }[];
  banner_document: DocumentRef | null;
  gpc: { honour: boolean };
  consent_mode: { enabled: boolean; mapping: Record<string, string[]> };
  consent_lifetime_days: number;
  theme: Theme;
  cookie_domain: string | null;
  /** the receipt page, `{id}` and `{subject_token}` to fill in */
  receipt_url: string;
  revision: string;
}

export interface ConsentryApi {
  /** Open the first layer and focus its first button. */
  show(): Promise<void>;
  /** Open the preferences dialog; focus returns to `opener` (default: the focused element). */
  showPreferences(opener?: HTMLElement): Promise<void>;
  /** The consent in force, from the cookie (synchronous), or null. */
  getConsent(): Consent | null;
  acceptAll(): Promise<void>;
  rejectAll(): Promise<void>;
  /** Opt out of the sale and sharing of personal information (action `opt_out`, method `api`). */
  optOut(): Promise<void>;
  /** Allow the sale and sharing again (action `opt_in`; `opt_out` while GPC is honoured). */
  optIn(): Promise<void>;
  /** Record a withdrawal and show the banner again. */
  withdraw(): Promise<void>;
  /** Subscribe; returns the unsubscribe function. */
  on(type: 'change', fn: (detail: ChangeDetail) => void): () => void;
  on(type: 'error', fn: (detail: ErrorDetail) => void): () => void;
}

declare global {
  interface Window {
    Consentry?: ConsentryApi;
  }
  interface DocumentEventMap {
    'consentry:change': CustomEvent<ChangeDetail>;
    'consentry:error': CustomEvent<ErrorDetail>;
  }
}
