// Errors in OpenAI's shape (reference OA1): {"error":{"message","type","param","code"}}, the type
// from the status. 401 reads as OpenAI's own answer to a missing or wrong key.
import type { ErrorBody } from './types.js';

export function errorType(status: number): string {
  if (status === 400 || status === 401) return 'invalid_request_error';
  if (status === 404) return 'not_found_error';
  return 'api_error';
}

export function toErrorBody(status: number, message: string): ErrorBody {
  return {
    error: { message, type: errorType(status), param: null, code: status === 401 ? 'invalid_api_key' : null },
  };
}
