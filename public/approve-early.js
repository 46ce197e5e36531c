// The quote window asks the worker for its quotes before its own code has loaded: a classic
// script in the page's head, loaded `async` so that it does not hold up the parser, run while the
// browser still compiles the window's modules, so the answer and the compile overlap
// (src/ui/approve/store.ts takes the answer, or asks itself if this ran late). Kept tiny on purpose.
globalThis.__payboundQuotes = chrome.runtime.sendMessage({
  type: 'approvals.pending',
  payload: { tabId: Number(new URLSearchParams(location.search).get('tab') ?? '-1') },
});
