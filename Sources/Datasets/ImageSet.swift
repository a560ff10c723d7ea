/// One character class of an image set: an alphabet's character and the images drawn of it.
public struct CharacterClass: Sendable, Hashable {
    /// The alphabet's index in ``ImageSet/alphabets``.
    public let alphabetIndex: Int
    /// The alphabet's folder name (`Alphabet_of_the_Magi`).
    public let alphabet: String
    /// The character's folder name (`character01`).
    public let name: String
    /// The indices of this class's images in the image set (contiguous).
    public let images: Range<Int>

    /// Describes a class; ``ImageSet/init(name:imageSize:pixels:classes:alphabets:)`` checks it.
    public init(alphabetIndex: Int, alphabet: String, name: String, images: Range<Int>) {
        self.alphabetIndex = alphabetIndex
        self.alphabet = alphabet
        self.name = name
        self.images = images
    }

    /// `alphabet/character`, as in the archive.
    public var qualifiedName: String { "\(alphabet)/\(name)" }
}

/// All images of one Omniglot-layout archive, decoded and resized, in one contiguous buffer.
///
/// Images are ordered by alphabet, then character, then file name (the archive's sorted
/// order), so each class owns a contiguous range of image indices. Pixels are float32 in
/// `[0, 1]`, background 1.0 and ink 0.0, row-major, `imageSize x imageSize` per image:
///
/// ```
/// pixel(image i, row r, column c) = pixels[(i * imageSize + r) * imageSize + c]
/// ```
///
/// The value is immutable and `Sendable`; copies share storage.
public struct ImageSet: Sendable, Equatable {
    /// The archive's top folder (`images_background`).
    public let name: String
    /// The side length of every image.
    public let imageSize: Int
    /// All pixels, `imageCount * imageSize * imageSize` floats.
    public let pixels: [Float]
    /// For each image, the index of its class in ``classes``.
    public let classOfImage: [Int]
    /// The classes in order; their image ranges tile `0 ..< imageCount`.
    public let classes: [CharacterClass]
    /// The alphabet folder names in order.
    public let alphabets: [String]

    /// Builds an image set, checking that the parts agree.
    ///
    /// - Parameters:
    ///   - name: The archive's top folder name.
    ///   - imageSize: The side length of every image.
    ///   - pixels: `imageCount * imageSize * imageSize` floats.
    ///   - classes: Classes whose image ranges tile the images in order.
    ///   - alphabets: The alphabet names the classes refer to.
    /// - Throws: ``DatasetError/invalidParameter(name:value:reason:)`` when they do not agree.
    public init(name: String, imageSize: Int, pixels: [Float], classes: [CharacterClass], alphabets: [String]) throws {
        guard imageSize > 0 else {
            throw DatasetError.invalidParameter(name: "imageSize", value: "\(imageSize)", reason: "must be positive")
        }
        var classOfImage: [Int] = []
        for (index, characterClass) in classes.enumerated() {
            guard characterClass.images.lowerBound == classOfImage.count, !characterClass.images.isEmpty,
                  alphabets.indices.contains(characterClass.alphabetIndex),
                  alphabets[characterClass.alphabetIndex] == characterClass.alphabet else {
                throw DatasetError.invalidParameter(name: "classes[\(index)]", value: characterClass.qualifiedName,
                                                    reason: "image range \(characterClass.images) or alphabet does not fit")
            }
            classOfImage.append(contentsOf: repeatElement(index, count: characterClass.images.count))
        }
        guard pixels.count == classOfImage.count * imageSize * imageSize else {
            throw DatasetError.invalidParameter(name: "pixels.count", value: "\(pixels.count)",
                                                reason: "expected \(classOfImage.count) x \(imageSize) x \(imageSize)")
        }
        self.name = name
        self.imageSize = imageSize
        self.pixels = pixels
        self.classOfImage = classOfImage
        self.classes = classes
        self.alphabets = alphabets
    }

    /// The number of images.
    public var imageCount: Int { classOfImage.count }

    /// The number of pixels of one image.
    public var pixelsPerImage: Int { imageSize * imageSize }

    /// The pixels of image `index`.
    public func image(_ index: Int) -> ArraySlice<Float> {
        pixels[(index * pixelsPerImage)..<((index + 1) * pixelsPerImage)]
    }

    /// The number of classes of each alphabet, in ``alphabets`` order.
    public var classCountPerAlphabet: [Int] {
        var counts = [Int](repeating: 0, count: alphabets.count)
        for characterClass in classes { counts[characterClass.alphabetIndex] += 1 }
        return counts
    }

    /// One line: `images_background: 30 alphabets, 964 classes, 19280 images of 28x28`.
    public var summary: String {
        "\(name): \(alphabets.count) alphabets, \(classes.count) classes, \(imageCount) images of \(imageSize)x\(imageSize)"
    }
}
