"""Flexibility Manager (FMAN): the aggregator between the FlexOffer Agents and the market."""
