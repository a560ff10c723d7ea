/// One class of a split: a character class of a source image set, possibly rotated.
public struct SplitClass: Sendable, Hashable {
    /// The index of the image set in ``ClassSplit/sources``.
    public let source: Int
    /// The index of the class in that image set's ``ImageSet/classes``.
    public let classIndex: Int
    /// The rotation applied to every image of the class.
    public let rotation: Rotation

    /// Refers to class `classIndex` of source `source`, rotated by `rotation`.
    public init(source: Int, classIndex: Int, rotation: Rotation = .r0) {
        self.source = source
        self.classIndex = classIndex
        self.rotation = rotation
    }
}

/// A set of classes to draw few-shot tasks from (a "train", "validation" or "test" split).
///
/// A split does not copy pixels: it refers to classes of one or more ``ImageSet`` values (which
/// share their storage) and applies a class's rotation when an image is read. Rotated classes
/// come from ``withRotations(_:)``; each holds exactly the rotated images of one source class.
public struct ClassSplit: Sendable {
    /// A name for messages and reports (`train`, `images_evaluation`, ...).
    public let name: String
    /// The image sets the classes refer to.
    public let sources: [ImageSet]
    /// The classes, in a fixed order; task samplers index into this array.
    public let classes: [SplitClass]
    /// The side length of every image.
    public let imageSize: Int

    /// Builds a split from classes of `sources`.
    ///
    /// - Parameters:
    ///   - name: A name for messages.
    ///   - sources: The image sets; all must have the same image size.
    ///   - classes: The classes, each naming a valid source and class index.
    /// - Throws: ``DatasetError/invalidParameter(name:value:reason:)`` when sizes or indices disagree.
    public init(name: String, sources: [ImageSet], classes: [SplitClass]) throws {
        guard let first = sources.first else {
            throw DatasetError.invalidParameter(name: "sources", value: "[]", reason: "a split needs an image set")
        }
        for set in sources where set.imageSize != first.imageSize {
            throw DatasetError.invalidParameter(name: "imageSize", value: "\(set.imageSize) (\(set.name))",
                                                reason: "all image sets of a split need size \(first.imageSize)")
        }
        for splitClass in classes where !sources.indices.contains(splitClass.source)
            || !sources[splitClass.source].classes.indices.contains(splitClass.classIndex) {
            throw DatasetError.invalidParameter(name: "classes", value: "\(splitClass)", reason: "no such class")
        }
        self.name = name
        self.sources = sources
        self.classes = classes
        self.imageSize = first.imageSize
    }

    /// All classes of one image set, unrotated (Lake's background or evaluation split).
    ///
    /// - Parameters:
    ///   - set: The image set.
    ///   - name: The split's name; the set's name when `nil`.
    /// - Returns: A split with every class of `set`.
    public static func all(of set: ImageSet, name: String? = nil) -> ClassSplit {
        let classes = set.classes.indices.map { SplitClass(source: 0, classIndex: $0) }
        // The indices are valid by construction.
        return try! ClassSplit(name: name ?? set.name, sources: [set], classes: classes)
    }

    /// The number of classes.
    public var classCount: Int { classes.count }

    /// The number of images over all classes (rotated copies count separately).
    public var imageCount: Int { classes.indices.reduce(0) { $0 + imageCount(ofClass: $1) } }

    /// The number of images of class `index`.
    public func imageCount(ofClass index: Int) -> Int { characterClass(index).images.count }

    /// The source character class behind split class `index`.
    public func characterClass(_ index: Int) -> CharacterClass {
        let splitClass = classes[index]
        return sources[splitClass.source].classes[splitClass.classIndex]
    }

    /// A readable name of class `index`: `images_background/Alphabet/character01 rot90`.
    public func className(_ index: Int) -> String {
        let splitClass = classes[index]
        let base = "\(sources[splitClass.source].name)/\(characterClass(index).qualifiedName)"
        return splitClass.rotation == .r0 ? base : "\(base) \(splitClass.rotation)"
    }

    /// The split with every class repeated under each rotation, as new classes.
    ///
    /// With the default rotations the split has four times as many classes: the characters at
    /// 0, 90, 180 and 270 degrees. A class that is already rotated is rotated further; a class
    /// that would appear twice is kept once.
    ///
    /// - Parameter rotations: The rotations to apply to each class.
    /// - Returns: The augmented split, with the same name and sources.
    public func withRotations(_ rotations: [Rotation] = Rotation.allCases) -> ClassSplit {
        var seen = Set<SplitClass>()
        var rotated: [SplitClass] = []
        for splitClass in classes {
            for rotation in rotations {
                let candidate = SplitClass(source: splitClass.source, classIndex: splitClass.classIndex,
                                           rotation: splitClass.rotation.then(rotation))
                if seen.insert(candidate).inserted { rotated.append(candidate) }
            }
        }
        return try! ClassSplit(name: name, sources: sources, classes: rotated)
    }

    /// The same classes under another name.
    public func renamed(_ newName: String) -> ClassSplit {
        try! ClassSplit(name: newName, sources: sources, classes: classes)
    }

    /// Copies image `sample` of class `index`, rotated as the class says, into `destination`.
    ///
    /// - Parameters:
    ///   - index: A class index of this split.
    ///   - sample: An image index within the class, `0 ..< imageCount(ofClass: index)`.
    ///   - destination: Receives `imageSize * imageSize` floats.
    public func copyImage(ofClass index: Int, sample: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        let splitClass = classes[index]
        let set = sources[splitClass.source]
        let images = set.classes[splitClass.classIndex].images
        precondition(sample >= 0 && sample < images.count,
                     "copyImage: sample \(sample) outside 0..<\(images.count) of class \(className(index))")
        splitClass.rotation.apply(set.image(images.lowerBound + sample), side: imageSize, into: destination)
    }

    /// Image `sample` of class `index`, rotated as the class says.
    public func image(ofClass index: Int, sample: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: imageSize * imageSize) { buffer, count in
            copyImage(ofClass: index, sample: sample, into: buffer)
            count = imageSize * imageSize
        }
    }

    /// One line: `train: 3856 classes, 77120 images`.
    public var summary: String { "\(name): \(classCount) classes, \(imageCount) images" }
}
