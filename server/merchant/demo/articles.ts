// Paid articles for top-level navigation tests: a 402 on a page load, not on a fetch().
export interface Article {
  slug: string;
  title: string;
  paragraphs: string[];
}

export const ARTICLES: readonly Article[] = [
  {
    slug: 'prompt-craft',
    title: 'Prompt craft in five minutes',
    paragraphs: [
      'A good prompt names the reader, the goal and the length. Everything else is decoration.',
      'Start with the outcome you want, then the constraints, then an example. Models, like people, copy examples.',
      'When the answer disappoints, change one thing at a time and keep the prompts that worked.',
    ],
  },
  {
    slug: 'paying-per-request',
    title: 'Paying per request',
    paragraphs: [
      'Subscriptions charge for the month you might use; per-request pricing charges for the answer you got.',
      'HTTP has had a status code for this since 1997: 402 Payment Required. Lightning makes it cheap enough to use.',
      'A wallet that shows the quote before it pays, and keeps a budget, turns that into something people can trust.',
    ],
  },
  {
    slug: 'editing-with-ai',
    title: 'Editing with an AI assistant',
    paragraphs: [
      'Use the assistant for the second draft, not the first: it is better at tightening than at having something to say.',
      'Ask for three alternatives for a weak sentence, and pick none of them: the comparison shows you what was wrong.',
    ],
  },
];

export function findArticle(slug: string): Article | undefined {
  return ARTICLES.find((a) => a.slug === slug);
}
