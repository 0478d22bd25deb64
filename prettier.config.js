// Prettier, set to the layout the code already had: single quotes, semicolons, trailing commas, long lines.
// printWidth 230 reformats the fewest lines of the existing code (measured against 80 to 340).
export default {
  printWidth: 230,
  singleQuote: true,
  semi: true,
  trailingComma: 'all',
};
