/** Search results for one query, in the search engine's order: what examples/ranking.ts re-ranks. */
export const QUERY = 'how do I keep a sourdough starter alive while on holiday';

export const RESULTS = [
  {
    id: 'r01',
    url: 'https://bakery.example/sourdough-history',
    text: 'Sourdough is one of the oldest forms of leavened bread; ancient Egyptians are thought to have used wild yeast cultures.',
  },
  {
    id: 'r02',
    url: 'https://kitchen.example/starter-basics',
    text: 'A sourdough starter is a mix of flour and water colonised by wild yeast and lactic acid bacteria. Feed it daily at room temperature.',
  },
  {
    id: 'r03',
    url: 'https://travel.example/holiday-packing',
    text: 'Packing for a holiday: roll your clothes, bring a universal adapter, and keep medicines in your hand luggage.',
  },
  {
    id: 'r04',
    url: 'https://breadlab.example/fridge-starter',
    text: 'Before a trip, feed your starter, let it rise for an hour, then keep it in the fridge: it survives two to three weeks without feeding.',
  },
  {
    id: 'r05',
    url: 'https://forum.example/t/starter-holiday',
    text: 'I dry a spoonful of active starter on baking paper before long holidays; crumbled and fed, it revives in two days.',
  },
  {
    id: 'r06',
    url: 'https://recipes.example/sourdough-pancakes',
    text: 'Use your discard for sourdough pancakes: mix starter, egg, milk and a pinch of baking soda.',
  },
  {
    id: 'r07',
    url: 'https://breadlab.example/freezing-starter',
    text: 'You can freeze sourdough starter for months. Thaw it in the fridge and give it two or three feedings before baking.',
  },
  {
    id: 'r08',
    url: 'https://kitchen.example/hooch',
    text: 'The grey liquid on a hungry starter is called hooch. Pour it off or stir it in, then feed the starter.',
  },
  {
    id: 'r09',
    url: 'https://science.example/lactobacillus',
    text: 'Lactobacillus species lower the pH of a dough, which slows spoilage and gives sourdough its tang.',
  },
  {
    id: 'r10',
    url: 'https://forum.example/t/stiff-starter',
    text: 'For a week away, make a stiff starter (50% hydration) before leaving: it ferments slowly and keeps well in a cool place.',
  },
  {
    id: 'r11',
    url: 'https://shop.example/banneton',
    text: 'Our rattan bannetons give your loaves a classic spiral pattern. Free shipping on orders over 30 euros.',
  },
  {
    id: 'r12',
    url: 'https://kitchen.example/revive-neglected',
    text: 'Reviving a neglected starter: discard all but a tablespoon, feed it twice a day for three days, keep it warm.',
  },
  {
    id: 'r13',
    url: 'https://holiday.example/pet-sitting',
    text: 'Going away? Ask a neighbour to water plants and feed pets; leave written instructions and a spare key.',
  },
  {
    id: 'r14',
    url: 'https://bakery.example/whole-wheat',
    text: 'Whole wheat flour makes a more active starter because the bran carries more wild yeast and nutrients.',
  },
  {
    id: 'r15',
    url: 'https://breadlab.example/starter-holiday-guide',
    text: 'Holiday guide for your starter: up to 2 weeks, fridge after a feed; up to 2 months, freeze or dry; give a friend a jar as a backup.',
  },
  {
    id: 'r16',
    url: 'https://science.example/yeast-temperature',
    text: 'Yeast activity roughly halves for every 8 to 10 degrees C drop in temperature, which is why cold storage slows a starter.',
  },
];
