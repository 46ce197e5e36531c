/** One row of a settings form: its label in the left column, the control (and a hint) in the right. */
import { cloneElement, type ReactElement, type ReactNode, useId } from 'react';

export function Field({
  label,
  hint,
  children,
}: {
  label: ReactNode;
  hint?: ReactNode;
  children: ReactElement<{ id?: string; 'aria-describedby'?: string }>;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="control">
        {cloneElement(children, { id, ...(hint ? { 'aria-describedby': hintId } : {}) })}
        {hint && (
          <div className="muted small hint" id={hintId}>
            {hint}
          </div>
        )}
      </div>
    </div>
  );
}

/**
 * A translated sentence with elements in place of its markers (substituted for its placeholders), in
 * whatever order the language puts them. Markers are control characters such as U+0001: Chrome's
 * `i18n.getMessage` drops U+0000 (and private-use characters) from substitutions.
 */
export function inSentence(text: string, parts: Record<string, ReactNode>): ReactNode[] {
  const out: ReactNode[] = [];
  let words = '';
  for (const char of text) {
    if (!Object.hasOwn(parts, char)) {
      words += char;
      continue;
    }
    if (words) out.push(words);
    words = '';
    out.push(parts[char]);
  }
  if (words) out.push(words);
  return out;
}
