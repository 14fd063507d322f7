"""The Flexibility Manager FMAN (issue 4 section 3): the aggregator between FlexOffer Agents and the market FMAR.

Pure cores: :mod:`~goflex.flex.fman.portfolio` (incremental aggregation, bid-round plan),
:mod:`~goflex.flex.fman.bids` (bid FlexOffers: bounds by min/max-energy LP, baseline, tariffs from costs),
:mod:`~goflex.flex.fman.accounting` (execution and accounts per prosumer). Around them: storage
(:mod:`~goflex.flex.fman.repository`), the market client, the trading loop and the HTTP API
(:func:`goflex.flex.fman.app.create_app`). See docs/fman.md.
"""
