// Stripe's error objects: `{error: {type, code?, decline_code?, message, param?, ...}}` with the status
// codes Stripe documents (400 invalid request, 401 authentication, 402 card errors, 404 missing,
// 409 idempotency conflicts in flight, 500 API errors).

export type StripeErrorType =
  | 'api_error'
  | 'card_error'
  | 'idempotency_error'
  | 'invalid_request_error'
  | 'authentication_error';

export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: unknown;
  payment_method?: unknown;
  request_log_url?: string;
}

export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    /**
     * Whether an idempotent replay returns this same error. Stripe saves the result once an endpoint
     * has started executing (a card decline), but not for requests that failed validation.
     */
    readonly replayable = false,
  ) {
    super(body.message);
  }
}

const DOCS = 'https://stripe.com/docs/error-codes';

export function invalidRequest(message: string, param?: string, code?: string): StripeApiError {
  const body: StripeErrorBody = { type: 'invalid_request_error', message };
  if (param !== undefined) body.param = param;
  if (code !== undefined) {
    body.code = code;
    body.doc_url = `${DOCS}/${code.replace(/_/g, '-')}`;
  }
  return new StripeApiError(400, body);
}

export function missingResource(kind: string, id: string, param = 'id'): StripeApiError {
  return new StripeApiError(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    doc_url: `${DOCS}/resource-missing`,
    message: `No such ${kind}: '${id}'`,
    param,
  });
}

/** An error raised while the endpoint executed: saved for idempotent replays. */
export function stateError(message: string, code: string, extra: Partial<StripeErrorBody> = {}) {
  return new StripeApiError(
    400,
    {
      type: 'invalid_request_error',
      code,
      doc_url: `${DOCS}/${code.replace(/_/g, '-')}`,
      message,
      ...extra,
    },
    true,
  );
}

export function cardError(
  code: string,
  declineCode: string,
  message: string,
  extra: Partial<StripeErrorBody>,
): StripeApiError {
  return new StripeApiError(
    402,
    {
      type: 'card_error',
      code,
      decline_code: declineCode,
      message,
      doc_url: `${DOCS}/${code.replace(/_/g, '-')}`,
      ...extra,
    },
    true,
  );
}
