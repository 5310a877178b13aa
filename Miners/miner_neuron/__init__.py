"""The miner neuron: axon handlers, module supervisor, mock chain. Entry point: neurons/miner.py."""
