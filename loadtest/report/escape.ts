// Text into HTML: every character that can open markup or close an attribute is an entity, so a
// hostile or merely odd string (a CPU model, an error message, a command line) stays text.
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
