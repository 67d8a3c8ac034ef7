import { PAYLOAD_NAME_MAX } from '../xen/domain.js';
import { ERRNO } from '../xen/errno.js';
import { WorkflowError } from './errors.js';

/**
 * The names the workflows accept. Xen itself takes any bytes but NUL, but a name with control
 * characters would garble console lines (which the workflows read to explain failures) and the
 * logs operators read, and an empty name can only be a mistake.
 */
export class InvalidNameError extends WorkflowError {
  override readonly name = 'InvalidNameError';
  readonly code = 'EINVAL' as const;
  readonly category = 'usage' as const;
}

const encoder = new TextEncoder();

/**
 * Text safe to print: control and invisible formatting characters (bidirectional overrides, zero-
 * width characters) shown as `\u{...}` escapes, so what a terminal shows is what the string holds.
 */
export function escapeForDisplay(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\p{Cf}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

export function validatePayloadName(name: string): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidNameError('a payload name must be a non-empty string', { errno: ERRNO.EINVAL });
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) {
    throw new InvalidNameError(`payload name ${JSON.stringify(name)} is not valid Unicode (a lone surrogate)`, { errno: ERRNO.EINVAL });
  }
  // C0 and C1 controls, DEL and the Unicode line separators: each would break a console or log line.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(name)) {
    throw new InvalidNameError(`payload name ${JSON.stringify(name)} contains a control character`, { payload: name, errno: ERRNO.EINVAL });
  }
  // Invisible format characters (bidirectional overrides and isolates, zero-width characters, the
  // BOM) make a name print as another: `xlp list` could be made to show what is not there. U+FFFD
  // is what undecodable bytes became, so the name is not what was typed.
  const hidden = /[\p{Cf}\uFFFD]/u.exec(name);
  if (hidden) {
    const cp = hidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new InvalidNameError(
      `payload name ${escapeForDisplay(name)} contains U+${cp}, ` +
        (hidden[0] === '\uFFFD'
          ? 'the replacement for bytes that are not UTF-8'
          : 'an invisible formatting character that changes how text prints') +
        '; refused',
      { errno: ERRNO.EINVAL },
    );
  }
  const bytes = encoder.encode(name).length;
  if (bytes > PAYLOAD_NAME_MAX) {
    throw new InvalidNameError(`payload name is ${bytes} bytes (UTF-8); Xen takes at most ${PAYLOAD_NAME_MAX}`, {
      payload: name,
      errno: ERRNO.EINVAL,
    });
  }
}
