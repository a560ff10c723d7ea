/// The catalog compiled into metanas: a byte-for-byte copy of the package's `catalog.json`,
/// written by `Plugins/update-default-catalog.sh` (`DefaultCatalogTests` fails when they differ).
enum DefaultCatalog {
    /// The name used in messages about it.
    static let source = "catalog.json (built in)"

    static let text = #"""
{
  "format": "metanas.catalog/1",
  "summary": "Every plugin built into metanas and the reference pipelines. Layer your own file over it with --catalog FILE: entries with the same kind and name replace these, new ones are added. Plugin parameters bind RunConfig settings ('setting'); set them as plugin.parameter (e.g. --set reptile.weightStep=0.5).",
  "plugins": [
    {
      "kind": "operation",
      "name": "max_pool_3x3",
      "summary": "3x3 max pooling (stride 1 or 2), then non-affine batch norm",
      "source": "built-in"
    },
    {
      "kind": "operation",
      "name": "avg_pool_3x3",
      "summary": "3x3 average pooling (padding not counted), then non-affine batch norm",
      "source": "built-in"
    },
    {
      "kind": "operation",
      "name": "skip_connect",
      "summary": "identity at stride 1; factorized reduction (two 1x1 stride-2 convolutions) at stride 2",
      "source": "built-in"
    },
    {
      "kind": "operation",
      "name": "conv_1x5_5x1",
      "summary": "ReLU, 1x5 then 5x1 convolution, batch norm",
      "source": "built-in"
    },
    {
      "kind": "operation",
      "name": "conv_3x3",
      "summary": "ReLU, depthwise 3x3, pointwise 1x1, batch norm",
      "source": "built-in"
    },
    {
      "kind": "operation",
      "name": "sep_conv_3x3",
      "summary": "the conv_3x3 block twice, the stride in the first",
      "source": "built-in"
    },
    {
      "kind": "operation",
      "name": "dil_conv_3x3",
      "summary": "ReLU, depthwise 3x3 with dilation 2, pointwise 1x1, batch norm",
      "source": "built-in"
    },
    {
      "kind": "operation",
      "name": "none",
      "summary": "zero (DARTS' 'none'); never chosen when discretizing",
      "source": "built-in"
    },
    {
      "kind": "task-learner",
      "name": "darts",
      "summary": "first-order DARTS inner loop: one architecture step, then one weight step per inner step (Adam)",
      "source": "built-in",
      "parameters": {
        "innerSteps": {"type": "int", "default": 5, "range": "[1, 1000]", "setting": "innerSteps", "summary": "adaptation steps per task in meta-training"},
        "batchSize": {"type": "int", "default": 20, "range": "[2, 10000]", "setting": "batchSize", "summary": "support images per inner step, drawn with replacement"},
        "weightLearningRate": {"type": "float", "default": 0.005, "range": "[0, 1]", "setting": "weightLearningRate", "summary": "inner Adam learning rate for weights"},
        "architectureLearningRate": {"type": "float", "default": 0.005, "range": "[0, 1]", "setting": "architectureLearningRate", "summary": "inner Adam learning rate for alpha and beta"},
        "architectureWeightDecay": {"type": "float", "default": 0.001, "range": "[0, 1]", "setting": "architectureWeightDecay", "summary": "inner Adam weight decay for alpha and beta"},
        "startTemperature": {"type": "float", "default": 1.0, "range": "(0, 100]", "setting": "startTemperature", "summary": "softmax temperature at the first inner step"},
        "endTemperature": {"type": "float", "default": 0.05, "range": "(0, 100]", "setting": "endTemperature", "summary": "softmax temperature at the last architecture step (soft pruning anneals towards it)"},
        "dropPath": {"type": "float", "default": 0.2, "range": "[0, 1)", "setting": "dropPath", "summary": "drop-path probability during meta-training"}
      }
    },
    {
      "kind": "task-learner",
      "name": "darts-unrolled",
      "summary": "DARTS inner loop with the unrolled (second-order) architecture gradient: each architecture step looks one virtual weight step ahead (four passes instead of one); the other inner-loop settings are those of darts",
      "source": "built-in",
      "parameters": {
        "unrolledStep": {"type": "float", "default": 0.005, "range": "[0, 1]", "setting": "unrolledStep", "summary": "xi: the virtual weight step w' = w - xi * grad_w L the architecture gradient is taken after (0 gives the first-order gradient)"}
      }
    },
    {
      "kind": "meta-learner",
      "name": "reptile",
      "summary": "Reptile: move the meta-parameters towards the mean of the adapted ones",
      "source": "built-in",
      "parameters": {
        "weightStep": {"type": "float", "default": 1.0, "range": "[0, 10]", "setting": "metaWeightStep", "summary": "w += weightStep * mean_t(w_t - w)"},
        "architectureStep": {"type": "float", "default": 0.6, "range": "[0, 10]", "setting": "metaArchitectureStep", "summary": "alpha += architectureStep * mean_t(alpha_t - alpha), likewise beta"}
      }
    },
    {
      "kind": "meta-learner",
      "name": "fomaml",
      "summary": "first-order MAML: step along the mean query-set gradient at each task's adapted parameters",
      "source": "built-in",
      "parameters": {
        "weightStep": {"type": "float", "default": 1.0, "range": "[0, 10]", "setting": "metaWeightStep", "summary": "w -= weightStep * mean_t grad_w L_query(w_t, alpha_t)"},
        "architectureStep": {"type": "float", "default": 0.6, "range": "[0, 10]", "setting": "metaArchitectureStep", "summary": "alpha -= architectureStep * mean_t grad_alpha L_query(w_t, alpha_t)"}
      }
    },
    {
      "kind": "pruner",
      "name": "soft",
      "summary": "soft pruning (MetaNAS): anneal the temperature within each task and skip operations and inputs whose weight falls to the threshold",
      "source": "built-in",
      "parameters": {
        "trainingThreshold": {"type": "float", "default": 0.01, "range": "[0, 1)", "setting": "trainingThreshold", "summary": "threshold during meta-training"},
        "testThreshold": {"type": "float", "default": 0.05, "range": "[0, 1)", "setting": "testThreshold", "summary": "threshold at meta-test time"}
      }
    },
    {
      "kind": "pruner",
      "name": "hard",
      "summary": "hard pruning (DARTS baseline): search at temperature 1 without thresholds, discretize, retrain the fixed network",
      "source": "built-in",
      "parameters": {
        "retrainSteps": {"type": "int", "default": 10, "range": "[0, 10000]", "setting": "hardRetrainSteps", "summary": "weight steps of the discretized network at meta-test time"}
      }
    },
    {
      "kind": "dataset",
      "name": "synthetic",
      "summary": "generated Omniglot-shaped stroke glyphs (200 training and 100 test classes, 20 drawings each); works offline",
      "source": "built-in",
      "parameters": {
        "dataFolder": {"type": "string", "default": "datasets/synthetic", "setting": "dataFolder", "summary": "where the generated archives are written and read"},
        "rotateTrainingClasses": {"type": "bool", "default": true, "setting": "rotateTrainingClasses", "summary": "add 90/180/270-degree rotations of training classes as new classes"}
      }
    },
    {
      "kind": "dataset",
      "name": "omniglot",
      "summary": "Omniglot (Lake et al.): images_background.zip for meta-training, images_evaluation.zip for meta-testing",
      "source": "built-in",
      "parameters": {
        "dataFolder": {"type": "string", "default": "datasets/omniglot", "setting": "dataFolder", "summary": "folder holding images_background.zip and images_evaluation.zip"},
        "rotateTrainingClasses": {"type": "bool", "default": true, "setting": "rotateTrainingClasses", "summary": "add 90/180/270-degree rotations of training classes as new classes"}
      }
    }
  ],
  "pipelines": [
    {
      "name": "omniglot-20way-1shot",
      "summary": "the MetaNAS reference: Omniglot 20-way 1-shot, 4 cells of 3 nodes, Reptile + DARTS + soft pruning",
      "preset": "omniglot-20way-1shot",
      "dataset": "omniglot",
      "searchSpace": {
        "operations": ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "conv_1x5_5x1", "conv_3x3", "sep_conv_3x3", "dil_conv_3x3"],
        "channels": 28,
        "cellCount": 4,
        "reductionCells": [1, 3],
        "nodes": 3,
        "nodeInputs": "pairs"
      },
      "taskLearner": "darts",
      "metaLearner": {"name": "reptile", "parameters": {"weightStep": 1.0, "architectureStep": 0.6}},
      "pruner": {"name": "soft", "parameters": {"trainingThreshold": 0.01, "testThreshold": 0.05}},
      "settings": {
        "ways": 20,
        "trainShots": 15,
        "testShots": 1,
        "iterations": 30000,
        "warmupIterations": 15000,
        "metaBatch": 10,
        "testTasks": 600
      }
    },
    {
      "name": "small",
      "summary": "a useful run in minutes on two cores: synthetic glyphs, 5-way 1-shot, 3 cells of 2 nodes",
      "preset": "small",
      "dataset": "synthetic",
      "searchSpace": {
        "operations": ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "conv_1x5_5x1", "conv_3x3", "sep_conv_3x3", "dil_conv_3x3"],
        "channels": 8,
        "cellCount": 3,
        "reductionCells": [1],
        "nodes": 2
      },
      "taskLearner": "darts",
      "metaLearner": "reptile",
      "pruner": "soft",
      "settings": {
        "ways": 5,
        "iterations": 400,
        "warmupIterations": 150,
        "metaBatch": 5,
        "evaluateEvery": 100
      }
    },
    {
      "name": "small-darts-baseline",
      "summary": "the small pipeline with hard pruning: the DARTS baseline MetaNAS compares against",
      "preset": "small",
      "dataset": "synthetic",
      "searchSpace": {
        "operations": ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "conv_1x5_5x1", "conv_3x3", "sep_conv_3x3", "dil_conv_3x3"]
      },
      "taskLearner": "darts",
      "metaLearner": "reptile",
      "pruner": {"name": "hard", "parameters": {"retrainSteps": 10}}
    },
    {
      "name": "tiny",
      "summary": "a smoke test in seconds: 14x14 synthetic glyphs, 2 cells of 2 nodes with 4 channels",
      "preset": "tiny",
      "dataset": "synthetic",
      "searchSpace": {
        "operations": ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "conv_1x5_5x1", "conv_3x3", "sep_conv_3x3", "dil_conv_3x3"]
      },
      "taskLearner": "darts",
      "metaLearner": "reptile",
      "pruner": "soft"
    }
  ]
}

"""#
}
