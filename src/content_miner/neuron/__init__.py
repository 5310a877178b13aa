"""The miner neuron: axon handlers, module supervisor, mock chain. `python -m content_miner.neuron`."""
