"""FlexOffer Agents (seed 1.2, 2.2): FlexOffers from device state and forecasts, and schedule execution."""
