// The draft editor: the preview follows the text as it is typed. The server renders it (the
// same Markdown renderer and sanitiser as the hosted pages), so what is shown is what is published.
export function start(form) {
  const body = form.querySelector("textarea[name=body]");
  const token = form.querySelector("input[name=csrf_token]");
  const preview = document.getElementById("preview-body");
  if (!body || !preview || !token) return;
  let timer = null;
  const render = async () => {
    const response = await fetch(form.dataset.renderUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": token.value },
      body: new URLSearchParams({ body: body.value }),
      credentials: "same-origin",
    });
    if (!response.ok) {
      // A text beyond the Markdown bounds (413/422): say so where the preview would be.
      const answer = await response.json().catch(() => null);
      const note = document.createElement("p");
      note.className = "notice";
      note.textContent = `No preview: ${answer?.error?.message ?? response.statusText}`;
      preview.replaceChildren(note);
      return;
    }
    const { html } = await response.json();
    const parsed = new DOMParser().parseFromString(html, "text/html");
    preview.replaceChildren(...parsed.body.childNodes);
  };
  body.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(render, 300);
  });
}
