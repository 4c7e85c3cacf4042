/** How the agent talks to ARCP (ARCP's `communication_mode`). */
export type CommunicationMode = 'remote' | 'local' | 'hybrid';

/** One finding of the compliance checks. */
export interface ComplianceIssue {
  /** Stable machine-readable type, e.g. `identity_mismatch`. */
  type: string;
  message: string;
  field?: string;
}

/** A compliance validation: the request that was checked, the key it binds to, and its outcome. */
export interface ValidationRecord {
  validation_id: string;
  agent_id: string;
  agent_type: string;
  endpoint: string;
  capabilities: string[];
  communication_mode: CommunicationMode;
  version?: string;
  /**
   * The key every later token is bound to: the temp token's `cnf.jkt`, else the thumbprint of
   * the verified proof sent to `validate_compliance`. Never from a request body.
   */
  jkt?: string;
  status: 'pending' | 'passed' | 'failed';
  errors: ComplianceIssue[];
  warnings: ComplianceIssue[];
  endpoint_check: 'skipped' | 'passed' | 'failed';
  /** Milliseconds since the epoch. */
  created_at: number;
  completed_at?: number;
}

/**
 * Where validations live between `validate_compliance`, polling and registration. Records
 * expire on their own (TTL); consumption is one-shot.
 */
export interface ValidationStore {
  /**
   * Stores a new validation; it expires `ttlMs` from now. It replaces the agent's previous
   * validation, if any (that one is deleted): at most one validation per agent_id is kept.
   * @throws ProblemException 503 when a capped store is full
   */
  create(record: ValidationRecord, ttlMs: number): Promise<void>;
  /**
   * Updates an existing record (a finished check); it expires `ttlMs` from now. A record that
   * is gone (replaced or expired) stays gone.
   */
  save(record: ValidationRecord, ttlMs: number): Promise<void>;
  get(validationId: string): Promise<ValidationRecord | undefined>;
  /**
   * Marks the validation as used, atomically: of any number of concurrent calls for one id,
   * exactly one resolves `true`. The mark lasts `ttlMs`, which must outlive the record.
   */
  consume(validationId: string, ttlMs: number): Promise<boolean>;
}

/** Injection token of the {@link ValidationStore} (one import gives the type and the token). */
export const ValidationStore = Symbol('ValidationStore');
