// The code blocks of docs/writing-a-driver.md, so tests can run what the guide tells people to run.

export interface GuideBlock {
  lang: string;
  text: string;
}

/** Every fenced code block, in order, with its language tag. */
export function guideBlocks(markdown: string): GuideBlock[] {
  const blocks: GuideBlock[] = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (const m of markdown.matchAll(fence)) blocks.push({ lang: m[1] ?? '', text: m[2] ?? '' });
  return blocks;
}

/** The shell blocks (`sh`), each as the commands it runs: comments dropped, `\` continuations joined. */
export function guideCommandBlocks(markdown: string): string[] {
  return guideBlocks(markdown)
    .filter((b) => b.lang === 'sh')
    .map((b) =>
      b.text
        .replace(/\\\n\s*/g, '')
        .split('\n')
        .map((line) => line.replace(/\s+#\s.*$/, '').trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
        .join('\n'),
    );
}
