"""DOMS: the DSO's use of flexibility to cut its balance group's imbalance (seed 3.3).

Pure cores (data validation, forecasting, optimisation, price models, evaluation) and the live service.
"""
